import pytest

from enrich.language import LEAD_CHARS, LanguageGuess, _detector, detect_language
from mediamon.dev.sample_news import load_items

CASES = {
    "be": "Лукашэнка сустрэўся з Пуціным у Сочы, дзе яны абмяркоўвалі крэдыт і Саюзную дзяржаву.",
    "ru": "Лукашенко встретился с Путиным в Сочи, где они обсудили кредит и Союзное государство.",
    "uk": "Лукашенко зустрівся з Путіним у Сочі, де вони обговорили кредит і союзну державу.",
    "pl": "Łukaszenka spotkał się z Putinem w Soczi, gdzie rozmawiali o kredycie i państwie związkowym.",
    "nl": "Loekasjenko ontmoette Poetin in Sotsji, waar ze spraken over een lening en een unie-staat.",
    "de": "Lukaschenko traf Putin in Sotschi, wo sie über einen Kredit und den Unionsstaat sprachen.",
    "lt": "Lukašenka susitiko su Putinu Sočyje, kur jie aptarė paskolą ir sąjunginę valstybę.",
    "en": "Lukashenko met Putin in Sochi, where they discussed a loan and the union state.",
}


@pytest.mark.parametrize(("code", "text"), CASES.items())
def test_languages_of_the_region_including_belarusian_russian_ukrainian(code, text):
    guess = detect_language("", text)
    assert guess.code == code
    assert 0.0 < guess.confidence <= 1.0


def test_page_hint_breaks_a_near_tie_but_never_overrules_clear_text():
    assert detect_language("Lukashenko meets Putin", "", hint="en").code == "en"
    assert detect_language("", CASES["ru"], hint="en").code == "ru"


def test_a_headline_is_read_without_every_language_s_full_models():
    # Those take 5 s with the GIL held and 650 MB the first time; a headline needs its few candidates' only.
    _detector.cache_clear()
    assert detect_language("Łukaszenka spotkał się z Putinem w Soczi", "", hint="pl").code == "pl"
    assert detect_language("Loekasjenko ontmoette Poetin in Sotsji", "").code == "nl"
    assert _detector.cache_info().currsize == 1  # the trigram detector alone


def test_empty_text_is_undecided():
    assert detect_language("", "  ").code is None


def test_a_cyrillic_lead_is_read_in_full_where_lingua_misreads_it():
    # The sample news's Ukrainian Lavrov story: its first 400 characters alone come out Kazakh at confidence 1.0.
    story = next(item for item in load_items() if item.id == "uk-lavrov-zvynuvachennia")
    body = f"{story.summary}\n" + "\n".join(story.body)
    assert detect_language(story.title, body[: LEAD_CHARS - len(story.title)]).code == "kk"  # the lead alone
    assert detect_language(story.title, body) == LanguageGuess("uk", 1.0)
