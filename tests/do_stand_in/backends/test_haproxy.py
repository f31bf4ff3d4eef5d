"""The HAProxy a `process` load balancer is: its configuration follows the record's rules and check, and HAProxy accepts it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import require_tools

from do_stand_in.backends.haproxy import render

BALANCER = {
    "forwarding_rules": [
        {"entry_protocol": "http", "entry_port": 80, "target_protocol": "http", "target_port": 8080},
        {"entry_protocol": "https", "entry_port": 443, "target_protocol": "http", "target_port": 8080},
    ],
    "health_check": {"protocol": "http", "port": 8080, "path": "/readyz", "check_interval_seconds": 5, "response_timeout_seconds": 3, "healthy_threshold": 2, "unhealthy_threshold": 3},
    "redirect_http_to_https": True,
}


def test_each_rule_is_a_frontend_on_the_balancers_address_with_no_retry_and_the_check_as_asked(tmp_path: Path) -> None:
    config = render(BALANCER, "127.2.0.2", tmp_path / "admin.sock", tmp_path / "frontend.pem")
    assert "    bind 127.2.0.2:80\n    http-request redirect scheme https code 308\n" in config
    assert f"    bind 127.2.0.2:443 ssl crt {tmp_path / 'frontend.pem'}\n" in config
    assert "    retries 0\n    no option redispatch\n" in config
    assert "http-check send meth GET uri /readyz" in config and "timeout check 3s" in config


@require_tools("haproxy")
def test_haproxy_accepts_the_configuration(tmp_path: Path) -> None:
    plain = {**BALANCER, "forwarding_rules": BALANCER["forwarding_rules"][:1], "redirect_http_to_https": False}
    config = tmp_path / "haproxy.cfg"
    config.write_text(render(plain, "127.2.0.2", tmp_path / "admin.sock", None))
    checked = subprocess.run(["haproxy", "-c", "-f", str(config)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
