"""Where an EPP's plugins config comes from, judged (used by epp.config): the file a --config-file flag
names (mount, volume, ConfigMap key), or no config at all and what the release does then."""

from __future__ import annotations

import re

from llmd_doctor.model import Finding, Status
from llmd_doctor.topology import ConfigFile, Epp


def file_findings(epp: Epp, f: ConfigFile, lost: tuple[str, ...]) -> tuple[list[Finding], str | None, str]:
    """Findings about where --config-file comes from, the config text when found, and a description."""
    ref, path = epp.ref, f.path
    if f.mount is None and f.relative:
        return [Finding(Status.SKIP, f"{ref}: config file {path} is relative to the image's working directory, "
                        "which the snapshot does not show; not verified", ref)], None, f"{path} (relative, not verified)"
    if f.mount is None:
        return [Finding(Status.WARN, f"{ref}: config file {path} is on no mounted volume; unless the image ships it, "
                        "the EPP cannot load its plugins config", ref, (epp.argv_text,),
                        remediation="Mount the ConfigMap that holds the EndpointPickerConfig at the config file's "
                        "directory (e.g. /etc/epp).", capabilities=())], None, f"{path} (not on a volume)"
    if f.configmap is None:
        return [], None, f"{path} from a {f.volume_kind} volume (content not checked)"
    if f.item_missing:
        return [Finding(Status.FAIL, f"{ref}: -configFile {path} does not exist: volume {f.mount.get('name')} "
                        f"projects only {', '.join(f.projected)} of ConfigMap {f.configmap}", ref, (epp.argv_text,),
                        remediation="Project the key as the file's name or point the config file flag at a "
                        "projected path.", capabilities=lost)], None, path
    where = f.where
    if f.source.unknown:
        return [Finding.unverifiable(f.source.gap, f"{ref}: config file {path} comes from ConfigMap {f.configmap}, "
                                     "which could not be read", ref)], None, where
    if f.source.missing:
        return [Finding(Status.FAIL, f"{ref}: ConfigMap {epp.namespace}/{f.configmap}, mounted at {f.mount_path} for "
                        f"-configFile {path}, does not exist", ref, (epp.argv_text,),
                        remediation=f"Create ConfigMap {f.configmap} in {epp.namespace} with key {f.key} holding the "
                        "EndpointPickerConfig.", capabilities=lost)], None, where
    if not f.key_present:
        keys = ", ".join(sorted((f.source.target or {}).get("data") or {})) or "none"
        return [Finding(Status.FAIL, f"{ref}: ConfigMap {epp.namespace}/{f.configmap} has no key {f.key} (keys: "
                        f"{keys}): config file {path} does not exist in the EPP container", ref, (epp.argv_text,),
                        remediation=f"Point the config file flag at one of the ConfigMap's keys, or add key {f.key}.",
                        capabilities=lost)], None, where
    return [], f.text or "", where


def no_config(epp: Epp, lost: tuple[str, ...]) -> tuple[list[Finding], str]:
    """No --config-file/--config-text: what this release does then."""
    ref, release = epp.ref, epp.release
    mode = release.empty_config if release else None
    flag = "/".join((epp.flag_name("configFile", "config-file"), epp.flag_name("configText", "config-text")))
    evidence = [epp.argv_text, 'configFile="" configText=""']
    scorer_env = [str(e.get("name")) for e in epp.container.get("env") or []
                  if re.search(r"^(ENABLE_|PD_|PREFILL_)|_SCORER", str(e.get("name", "")))]
    if scorer_env and release and release.config != "env":
        evidence.append(f"env {', '.join(scorer_env)}: llm-d v0.1-style scorer settings that {epp.tag} ignores")
    unmounted = epp.config.unmounted
    if unmounted:
        evidence.append(f"ConfigMap {epp.namespace}/{unmounted[0][0]} (key {unmounted[0][1]}) holds an "
                        "EndpointPickerConfig but the EPP does not mount it")
    cm, key = unmounted[0] if unmounted else ("<plugins-config>", "<key>")
    file_flag, text_flag = flag.split("/")
    mount_fix = f"mount ConfigMap {cm} (e.g. at /etc/epp) and add `{file_flag} /etc/epp/{key}` to the EPP args"
    if mode == "crash-nil-deref":
        return [Finding(Status.FAIL, f"{ref}: {epp.label} is given no plugins config ({flag} missing): it crashes with "
                        "a nil-pointer SIGSEGV in NewSchedulerWithConfig", ref, tuple(evidence),
                        remediation=f"Give the EPP an EndpointPickerConfig: {mount_fix} (or pass {text_flag}); "
                        f"{epp.tag} has no built-in default. Or upgrade to an EPP >= v0.7.0 (GIE >= v1.4).",
                        capabilities=lost)], "no plugins config"
    if mode == "exit-scheduler-config-must-be-set":
        return [Finding(Status.FAIL, f"{ref}: {epp.label} is given no plugins config ({flag} missing): it exits with "
                        "'scheduler config must be set either by config api or through code'", ref, tuple(evidence),
                        remediation=f"Give the EPP an EndpointPickerConfig: {mount_fix}, or upgrade to an EPP >= v0.7.0.",
                        capabilities=lost)], "no plugins config"
    if mode == "default":
        return [], "no plugins config: the built-in default (queue, kv-cache-utilization and prefix-cache scorers)"
    if mode == "ok":
        return [], "plugins from ENABLE_* environment variables (v0.1)"
    return [Finding(Status.WARN, f"{ref}: image {epp.image} is not a known release, and no plugins config is given "
                    f"({flag} missing): EPPs before v0.7 (GIE v1.4) crash or exit without one", ref, tuple(evidence),
                    remediation=f"Pin a released EPP image, or {mount_fix}.", capabilities=())], "no plugins config"
