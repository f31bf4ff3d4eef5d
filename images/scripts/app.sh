#!/bin/sh
# Install the app on the base image. Runs as root; idempotent.
#   WEBAPP_SOURCE  folder the file provisioner uploaded images/webapp to
#   APP_NAME, APP_VERSION, IMAGE_NAME  what this image is; baked into /etc/webapp/image.env
set -eu
: "${WEBAPP_SOURCE:?}" "${APP_NAME:?}" "${APP_VERSION:?}" "${IMAGE_NAME:?}"

# Its own system user: no home, no shell, no password.
if ! id webapp >/dev/null 2>&1; then
    useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin webapp
fi

install -d -m 0755 /opt/webapp /etc/webapp
install -m 0755 "$WEBAPP_SOURCE/app.py" /opt/webapp/app.py
# Its modules: the schema migrations runner and the session cookie (app.py imports them from its folder).
install -m 0644 "$WEBAPP_SOURCE/schema.py" "$WEBAPP_SOURCE/sessions.py" /opt/webapp/
# The versioned migrations (Alembic), replaced whole: a file the new version dropped must not linger.
rm -rf /opt/webapp/migrations
install -d -m 0755 /opt/webapp/migrations /opt/webapp/migrations/versions
install -m 0644 "$WEBAPP_SOURCE/migrations/env.py" "$WEBAPP_SOURCE/migrations/script.py.mako" /opt/webapp/migrations/
install -m 0644 "$WEBAPP_SOURCE"/migrations/versions/*.py /opt/webapp/migrations/versions/
# Fetches the database password from SSM at boot on AWS (webapp-secrets.service runs it as root).
install -m 0755 "$WEBAPP_SOURCE/fetch_secrets.py" /opt/webapp/fetch_secrets.py
# Compile now: at run time the file system is read-only to the app (ProtectSystem=strict).
python3 -m compileall -q /opt/webapp
install -m 0644 "$WEBAPP_SOURCE/webapp.service" /etc/systemd/system/webapp.service
# Not enabled: webapp.service pulls it in (Requires=).
install -m 0644 "$WEBAPP_SOURCE/webapp-secrets.service" /etc/systemd/system/webapp-secrets.service
# Not enabled either: webapp.service pulls it in (Wants=); migrates as the schema's owner on DigitalOcean.
install -m 0644 "$WEBAPP_SOURCE/webapp-migrate.service" /etc/systemd/system/webapp-migrate.service

# What this image is. Never written at boot, so /healthz reports the truth.
cat > /etc/webapp/image.env <<ENV
APP_NAME="$APP_NAME"
APP_VERSION="$APP_VERSION"
IMAGE_NAME="$IMAGE_NAME"
ENV
chmod 0644 /etc/webapp/image.env
# The env file is cloud-init's to write on first boot, never the image's.
rm -f /etc/webapp/app.env

systemctl daemon-reload
systemctl enable webapp.service >/dev/null 2>&1
echo "app.sh: installed $APP_NAME $APP_VERSION as $IMAGE_NAME"
