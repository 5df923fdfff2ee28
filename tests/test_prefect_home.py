"""Which Prefect home and server the project's commands use (the end-to-end test is in tests/dvc/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunepipe.errors import ConfigError
from tunepipe.prefect_home import choose_home, local_url, project_dir


@pytest.mark.parametrize(
    ("root", "project"),
    [
        ("/work/proj", "/work/proj"),
        ("/work/proj/.dvc/tmp/exps/tmp8x2k", "/work/proj"),  # where `dvc queue start` runs the stages
        ("/work/proj/.dvc/tmp", "/work/proj/.dvc/tmp"),
    ],
)
def test_project_dir_maps_dvc_experiment_copies_to_the_project(root: str, project: str) -> None:
    assert project_dir(root) == Path(project)


@pytest.mark.parametrize(
    ("environ", "home", "shared"),
    [
        ({}, "/proj/.prefect", True),
        ({"PREFECT_HOME": "/elsewhere/ph"}, "/elsewhere/ph", True),
        ({"TUNEPIPE_PREFECT_SERVER": "temporary"}, "/proj/.prefect", False),
        ({"TUNEPIPE_PREFECT_SERVER": "project"}, "/proj/.prefect", True),
        ({"PREFECT_API_URL": "http://10.0.0.5:4200/api"}, None, False),
        ({"PREFECT_API_URL": "http://10.0.0.5:4200/api", "PREFECT_HOME": "/elsewhere/ph"}, None, False),
    ],
)
def test_the_users_explicit_prefect_settings_win(
    tmp_path: Path, environ: dict[str, str], home: str | None, shared: bool
) -> None:
    choice = choose_home("/proj", environ, user_home=tmp_path)
    assert choice.home == (Path(home) if home else None)
    assert choice.shared == shared


def test_an_api_url_in_the_active_prefect_profile_counts_as_set(tmp_path: Path) -> None:
    (tmp_path / ".prefect").mkdir()
    (tmp_path / ".prefect/profiles.toml").write_text(
        'active = "team"\n[profiles.team]\nPREFECT_API_URL = "http://prefect.internal/api"\n[profiles.local]\n'
    )
    choice = choose_home("/proj", {}, user_home=tmp_path)
    assert choice.home is None and "http://prefect.internal/api" in choice.reason
    # Another active profile without an API URL: the project's home.
    assert choose_home("/proj", {"PREFECT_PROFILE": "local"}, user_home=tmp_path).home == Path("/proj/.prefect")


def test_an_unknown_server_mode_is_an_error_with_the_fix() -> None:
    with pytest.raises(ConfigError, match=r"TUNEPIPE_PREFECT_SERVER is 'shared', but must be 'project' .* or 'temporary'"):
        choose_home("/proj", {"TUNEPIPE_PREFECT_SERVER": "shared"}, user_home=Path("/nonexistent"))


@pytest.mark.parametrize(
    ("host", "url"),
    [("127.0.0.1", "http://127.0.0.1:4200/api"), ("0.0.0.0", "http://127.0.0.1:4200/api"), ("10.1.2.3", "http://10.1.2.3:4200/api")],
)
def test_local_url_of_a_server(host: str, url: str) -> None:
    assert local_url(host, 4200) == url
