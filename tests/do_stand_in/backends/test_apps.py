"""What a `process` droplet is configured with: the files its user-data writes, read back as the image reads them."""

from __future__ import annotations

from components.common.cloud_init import app_environment, render_user_data
from do_stand_in.backends.apps import DATABASE_CA_PATH, ENV_FILE_PATH, files_from_user_data, image_env, parse_env_file

CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def program_environment() -> dict[str, str]:
    return app_environment(
        app_env="staging",
        app_port=8080,
        database_host="127.3.0.2",
        database_port=25060,
        database_name="hello",
        database_user="hello",
        database_password='pa"ss\\word',
        app_secret="s3cret",
        drain_seconds=20,
        extra_env={"LOG_LEVEL": "debug"},
    )


def test_the_environment_the_program_renders_is_read_back_exactly() -> None:
    env = program_environment()
    files = files_from_user_data(render_user_data(env, database_ca=CA))
    assert parse_env_file(files[ENV_FILE_PATH]) == env
    assert files[DATABASE_CA_PATH] == CA


def test_user_data_without_the_apps_files_writes_nothing() -> None:
    assert files_from_user_data(None) == {}
    assert files_from_user_data("#!/bin/sh\necho hi\n") == {}


def test_the_baked_version_and_image_name_come_from_the_images_name() -> None:
    assert image_env("hello-1.4.2-0123456789ab") == {"APP_NAME": "hello", "APP_VERSION": "1.4.2", "IMAGE_NAME": "hello-1.4.2-0123456789ab"}
    assert image_env("hello-1.5.0-rc.1-0123456789ab")["APP_VERSION"] == "1.5.0-rc.1"
    assert image_env("debian-12-x64") == {"IMAGE_NAME": "debian-12-x64"}
