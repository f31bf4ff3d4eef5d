"""What a config change does to the fleet: replace it when the image or its first-boot config changes, leave it alone otherwise."""

from __future__ import annotations

from conftest import DNS_RECORD, DROPLET

from offline.harness import run_program


def droplet_inputs(run):
    return {d.name: d.inputs for d in run.of_type(DROPLET)}


def test_new_app_version_changes_every_droplets_image_and_name(staging):
    bumped = run_program("staging", config_overrides={"appVersion": "1.5.0"})
    before, after = droplet_inputs(staging), droplet_inputs(bumped)
    assert before.keys() == after.keys()
    for name in before:
        assert after[name]["image"] != before[name]["image"], f"{name} would keep the old image"
        assert "-1-5-0-" in after[name]["name"] and "-1-4-2-" in before[name]["name"], name
    assert bumped.outputs["imageName"].startswith("hello-staging-1.5.0-")
    assert bumped.named("app-image-packer").inputs["triggers"] != staging.named("app-image-packer").inputs["triggers"]
    # The base layer's inputs did not change: it is not baked again.
    assert bumped.named("base-image-packer").inputs == staging.named("base-image-packer").inputs


def test_promoting_another_version_in_prod_changes_every_droplets_image(prod):
    promoted = run_program("prod", config_overrides={"appVersion": "1.5.0", "imageSourceHash": "aaaaaaaaaaaa"})
    before, after = droplet_inputs(prod), droplet_inputs(promoted)
    for name in before:
        assert after[name]["image"] != before[name]["image"], name
    assert promoted.outputs["imageName"] == "hello-staging-1.5.0-aaaaaaaaaaaa"


def test_changed_env_var_changes_user_data_but_not_the_image(staging, run_with):
    changed = run_with("staging", {"env": ["LOG_LEVEL=info", "FEATURE_NEW_CHECKOUT=true"]})
    before, after = droplet_inputs(staging), droplet_inputs(changed)
    for name in before:
        assert after[name]["userData"] != before[name]["userData"], name
        assert 'LOG_LEVEL="info"' in after[name]["userData"]
        assert after[name]["image"] == before[name]["image"], name


def test_dns_ttl_change_touches_only_the_record(prod):
    changed = run_program("prod", config_overrides={"dnsTtl": 300})
    before = {r.urn: r.inputs for r in prod.resources}
    after = {r.urn: r.inputs for r in changed.resources}
    assert before.keys() == after.keys()
    differing = {urn.split("::")[-1] for urn in before if before[urn] != after[urn]}
    assert differing == {"dns-record"}
    assert changed.of_type(DNS_RECORD)[0].inputs["ttl"] == 300


def test_fleet_count_change_adds_droplets_without_touching_existing_ones(staging):
    grown = run_program("staging", config_overrides={"fleetCount": 3})
    before, after = droplet_inputs(staging), droplet_inputs(grown)
    assert set(after) == set(before) | {"fleet-2"}
    for name in before:
        assert after[name] == before[name], name


def test_image_source_change_bakes_a_new_image(tmp_path, monkeypatch, staging):
    """Any byte changed under images/ (here: the app layer) is a new content hash, image name and bake."""
    import shutil

    import offline.stack_config as stack_config

    project = tmp_path / "project"
    shutil.copytree(stack_config.PROJECT_DIR, project, ignore=shutil.ignore_patterns(".venv", ".git", "*.qcow2", ".cache", "__pycache__"))
    (project / "images" / "webapp" / "CHANGED").write_text("a new byte\n")
    monkeypatch.setattr(stack_config, "PROJECT_DIR", project)
    changed = run_program("staging", main=project / "__main__.py")
    assert changed.outputs["imageSourceHash"] != staging.outputs["imageSourceHash"]
    assert changed.named("app-image-packer").inputs["triggers"] != staging.named("app-image-packer").inputs["triggers"]
    assert changed.named("base-image-packer").inputs == staging.named("base-image-packer").inputs


def test_moving_the_base_from_debian_12_to_13_bakes_both_layers_and_replaces_every_droplet(staging):
    """The upgrade of a stack running on Debian 12 is one `pulumi up` like any other change: the stock image is part of
    the base's content hash, so both layers bake anew and every droplet is replaced, create-before-destroy."""
    on_debian_12 = run_program("staging", config_overrides={"baseImage": "debian-12-x64"})
    assert staging.named("base-image-packer").inputs["environment"]["PKR_VAR_source_image"] == "debian-13-x64"
    for layer in ("base-image-packer", "app-image-packer"):
        assert staging.named(layer).inputs["triggers"] != on_debian_12.named(layer).inputs["triggers"], f"{layer} would not bake"
    before, after = droplet_inputs(on_debian_12), droplet_inputs(staging)
    assert before.keys() == after.keys()
    for name, inputs in after.items():
        assert inputs["image"] != before[name]["image"] and inputs["name"] != before[name]["name"], f"{name} would keep the Debian 12 image"
    for droplet in staging.of_type(DROPLET):
        assert droplet.options["replace_on_changes"] == ["*"] and not droplet.options.get("delete_before_replace"), droplet.name
    assert not gate_expects(staging) & {d.id for d in on_debian_12.of_type(DROPLET)}


def gate_expects(run) -> set[str]:
    command = run.named("fleet-gate-0-wait").inputs["create"]
    return set(command.split("--expect-instances ")[1].split()[0].split(","))


def test_a_config_only_change_makes_the_gate_wait_for_new_ids_only(staging, run_with):
    """Same image, same names: the gate must still wait for droplets no old one can impersonate."""
    changed = run_with("staging", {"env": ["LOG_LEVEL=info", "FEATURE_NEW_CHECKOUT=true"]})
    assert [d.inputs["name"] for d in changed.of_type(DROPLET)] == [d.inputs["name"] for d in staging.of_type(DROPLET)]
    old_ids, new_ids = {d.id for d in staging.of_type(DROPLET)}, {d.id for d in changed.of_type(DROPLET)}
    assert gate_expects(changed) == new_ids and not new_ids & old_ids


def test_a_size_change_replaces_every_droplet_and_reruns_the_gate(staging):
    resized = run_program("staging", config_overrides={"dropletSize": "s-1vcpu-2gb"})
    for droplet in resized.of_type(DROPLET):
        assert droplet.options["replace_on_changes"] == ["*"], f"{droplet.name}: a resize in place powers the droplet off"
    assert not gate_expects(resized) & {d.id for d in staging.of_type(DROPLET)}
