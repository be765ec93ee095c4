#!/usr/bin/env bash
# One-shot setup of the Elasticsearch side of the docker-compose stack (runs in the Elasticsearch image):
#  1. a CA and a certificate for the `elasticsearch` service, made once into the `certs` volume;
#  2. once Elasticsearch answers: the `kibana_system` password, Kibana's connection user;
#  3. the roles `mediamon_writer` (the pipeline: its indices and templates) and `mediamon_reader` (analysts),
#     and the user `mediamon` with the writer role, whose password the Airflow services use.
# Idempotent: certificates are kept, passwords, roles and users are (re)set on every start.
set -euo pipefail

: "${ELASTIC_PASSWORD:?set ELASTIC_PASSWORD in .env}"
: "${KIBANA_PASSWORD:?set KIBANA_PASSWORD in .env}"
: "${MEDIAMON_ES_PASSWORD:?set MEDIAMON_ES_PASSWORD in .env}"
PREFIX="${MEDIAMON_INDEX_PREFIX:-}"
CERTS=config/certs
ES=https://elasticsearch:9200

if [ ! -f "$CERTS/ca/ca.crt" ]; then
  echo "creating the CA"
  bin/elasticsearch-certutil ca --silent --pem -out "$CERTS/ca.zip"
  unzip -q -o "$CERTS/ca.zip" -d "$CERTS"
fi
if [ ! -f "$CERTS/elasticsearch/elasticsearch.crt" ]; then
  echo "creating the certificate of the elasticsearch service"
  cat >"$CERTS/instances.yml" <<EOF
instances:
  - name: elasticsearch
    dns: [elasticsearch, localhost]
    ip: [127.0.0.1]
EOF
  bin/elasticsearch-certutil cert --silent --pem -out "$CERTS/certs.zip" --in "$CERTS/instances.yml" \
    --ca-cert "$CERTS/ca/ca.crt" --ca-key "$CERTS/ca/ca.key"
  unzip -q -o "$CERTS/certs.zip" -d "$CERTS"
fi
# Readable by group 0, which the Elasticsearch, Kibana and mediamon containers run in; the CA key stays private.
chown -R root:root "$CERTS"
find "$CERTS" -type d -exec chmod 750 {} \;
find "$CERTS" -type f -exec chmod 640 {} \;
chmod 600 "$CERTS/ca/ca.key"

es() {  # es METHOD PATH [JSON]: a request as `elastic`; prints the reply
  curl -s --cacert "$CERTS/ca/ca.crt" -u "elastic:${ELASTIC_PASSWORD}" -X "$1" "$ES$2" \
    -H "Content-Type: application/json" ${3:+-d "$3"}
}
require_reply() {  # require_reply PATTERN METHOD PATH JSON: a reply without PATTERN is printed, and setup fails
  local reply
  reply=$(es "$2" "$3" "$4")
  grep -q "$1" <<<"$reply" || { echo "unexpected reply to $2 $3: $reply" >&2; exit 1; }
}

echo "waiting for Elasticsearch"
until curl -s --cacert "$CERTS/ca/ca.crt" "$ES" | grep -q "missing authentication credentials"; do sleep 5; done

echo "setting the kibana_system password"
until es POST /_security/user/kibana_system/_password "{\"password\":\"${KIBANA_PASSWORD}\"}" | grep -q "^{}"; do
  sleep 5
done

INDICES="[\"${PREFIX}media-articles*\",\"${PREFIX}mediamon-*\"]"
echo "creating the roles mediamon_writer and mediamon_reader (indices $INDICES)"
require_reply '"created"' PUT /_security/role/mediamon_writer "{\"cluster\":[\"monitor\",\"manage_index_templates\"],
  \"indices\":[{\"names\":$INDICES,\"privileges\":[\"all\"]}]}"
require_reply '"created"' PUT /_security/role/mediamon_reader "{\"cluster\":[\"monitor\"],
  \"indices\":[{\"names\":$INDICES,\"privileges\":[\"read\",\"view_index_metadata\"]}]}"

echo "creating the user mediamon"
require_reply '"created"' PUT /_security/user/mediamon "{\"password\":\"${MEDIAMON_ES_PASSWORD}\",
  \"roles\":[\"mediamon_writer\"],\"full_name\":\"mediamon pipeline\"}"
echo "setup done"
