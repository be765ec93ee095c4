# The official Elasticsearch image plus the analysers of two languages the news comes in that the distribution
# lacks: Polish (analysis-stempel) and Ukrainian (analysis-ukrainian). mediamon finds them when it creates the
# articles index (search/analyzers.py); the other European languages' analysers are built in.
ARG STACK_VERSION=9.5.0
FROM docker.elastic.co/elasticsearch/elasticsearch:${STACK_VERSION}
RUN bin/elasticsearch-plugin install --batch analysis-stempel analysis-ukrainian
