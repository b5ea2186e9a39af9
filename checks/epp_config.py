"""epp.config: the endpoint picker's flags and plugins config, read against what its version expects.

It runs whether or not the EPP is up: when the EPP crash-loops, its flags usually say why
(a v0.2.x EPP without -configFile dies with a nil-pointer SIGSEGV; camelCase flags on a v1.x image
exit with "flag provided but not defined").
"""

from __future__ import annotations

import copy
import functools
import posixpath
import re
from collections.abc import Iterator
from typing import Any

import yaml

from llmd_doctor.kinds import INFERENCE, X_INFERENCE
from llmd_doctor.model import (
    CACHE_AWARE_ROUTING,
    EPP_CAPABILITIES,
    GATEWAY_ROUTING,
    SATURATION_SCHEDULING,
    CheckContext,
    Finding,
    Severity,
    Status,
)
from llmd_doctor.registry import check
from llmd_doctor.snapshot import DataUnavailable, Snapshot

from . import _k8s as k
from . import _llmd, _versions
from .model_servers import model_server_pods, server_container

Obj = dict[str, Any]
INPUTS = (_llmd.DEPLOYMENT, "Pod", "ConfigMap", *_llmd.POOL_KEYS, _llmd.HTTPROUTE)
_CAMEL = re.compile(r"[a-z][A-Z]")
_NEUTRAL = re.compile(r"^(v|zap-[\w-]+|kubeconfig|add_dir_header|alsologtostderr|log_[\w]+|logtostderr|"
                      r"one_output|skip_headers|skip_log_headers|stderrthreshold|vmodule)$")


def lost_capabilities(snap: Snapshot, epp: _llmd.Epp) -> tuple[str, ...]:
    """What a broken EPP takes away: its scheduling features, and routing when a route sends traffic
    through its pool and the pool fails closed."""
    pool = _llmd.pool_of_epp(epp, _llmd.pools(snap))
    if pool is not None and _llmd.routes_to_pool(snap, pool) and pool.epp_failure_mode != "FailOpen":
        return (*EPP_CAPABILITIES, GATEWAY_ROUTING)
    return EPP_CAPABILITIES


def flag_styles(epp: _llmd.Epp) -> tuple[list[str], list[str]]:
    """(camelCase flags, kebab-case flags) on the EPP's command line; zap/klog flags are neither."""
    camel = [f for f in epp.flags if not _NEUTRAL.match(f) and _CAMEL.search(f)]
    kebab = [f for f in epp.flags if not _NEUTRAL.match(f) and "-" in f and not _CAMEL.search(f)]
    return camel, kebab


def _argv_text(epp: _llmd.Epp) -> str:
    argv = [str(a) for a in (epp.container.get("command") or []) + (epp.container.get("args") or [])]
    text = " ".join(argv)
    return f"args: {text[:300]}" + ("…" if len(text) > 300 else "")


def _env_value(epp: _llmd.Epp, name: str) -> str | None:
    """An env var's value; `metadata.namespace` fieldRefs resolve to the EPP's namespace."""
    for e in epp.container.get("env") or []:
        if not isinstance(e, dict) or e.get("name") != name:
            continue
        if "value" in e:
            return str(e["value"])
        field = ((e.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath")
        if field == "metadata.namespace":
            return epp.namespace
    return None


def _style(epp: _llmd.Epp, facts: dict[str, Any] | None) -> str | None:
    if facts:
        return str(facts["flag_style"])
    camel, kebab = flag_styles(epp)
    return "camel" if camel else "kebab" if kebab else None


def pool_target(epp: _llmd.Epp, facts: dict[str, Any] | None) -> tuple[str | None, str, str, str, str]:
    """(pool name, namespace, how the namespace was chosen, group, how the group was chosen)."""
    style = _style(epp, facts)
    fallback = (_versions.compat().get("pool_namespace_fallback") or {}).get(style or "kebab") or {}
    name = epp.pool_name or (_env_value(epp, "POOL_NAME") if style == "camel" else None)
    ns_flag = epp.flag("poolNamespace", "pool-namespace")
    if ns_flag:
        ns, ns_how = ns_flag, "flag"
    elif (env := fallback.get("env")) and (val := _env_value(epp, str(env))):
        ns, ns_how = val, f"env {env}"
    else:
        ns, ns_how = str(fallback.get("default", "default")), "default (no pool-namespace flag)"
    if epp.pool_group:
        return name, ns, ns_how, epp.pool_group, "--pool-group"
    if facts and facts.get("default_pool_group"):
        return name, ns, ns_how, str(facts["default_pool_group"]), "the default of --pool-group"
    if facts:
        return name, ns, ns_how, str(facts["pool_groups"][0]), "the only pool group this version reads"
    if style == "camel":
        return name, ns, ns_how, X_INFERENCE, "camelCase flags (GIE <= v0.5 reads only x-k8s.io pools)"
    return name, ns, ns_how, INFERENCE, "the --pool-group default of GIE >= v1.0"


def pool_kind_known(snap: Snapshot, group: str) -> bool:
    """Can the snapshot say whether pools of this group exist (collected, or the CRD is not installed)?"""
    key = f"InferencePool.{group}"
    if snap.has_collected(key):
        return True
    try:
        return not snap.served_versions("InferencePool", group)
    except DataUnavailable:
        return False


def _version_text(epp: _llmd.Epp, facts: dict[str, Any] | None) -> str:
    product = _versions.epp_product(epp.image) or epp.image.rsplit("/", 1)[-1].split(":", 1)[0]
    return f"{product} {epp.tag or '(untagged)'}" + (f" (GIE {facts['gie']})" if facts else "")


# ---- the plugins config ----------------------------------------------------------------------


def _find_mount(container: Obj, path: str) -> Obj | None:
    mounts = sorted((m for m in container.get("volumeMounts") or [] if isinstance(m, dict)),
                    key=lambda m: -len(str(m.get("mountPath", ""))))
    for m in mounts:
        mp = str(m.get("mountPath", "")).rstrip("/")
        if path.startswith("/"):
            if path == mp or path.startswith(mp + "/"):
                return m
        elif posixpath.dirname(path) and mp.endswith("/" + posixpath.dirname(path)):
            return m  # a relative path is resolved from the image's WORKDIR, which we cannot see
    return None


def _config_source(snap: Snapshot, epp: _llmd.Epp, path: str) -> tuple[list[Finding], str | None, str]:
    """Findings about where --config-file comes from, the config text when found, and a description."""
    ref = epp.ref
    mount = _find_mount(epp.container, path)
    if mount is None and not path.startswith("/"):
        return [Finding(Status.SKIP, f"{ref}: config file {path} is relative to the image's working directory, "
                        "which the snapshot does not show; not verified", ref)], None, f"{path} (relative, not verified)"
    if mount is None:
        return [Finding(Status.WARN, f"{ref}: config file {path} is on no mounted volume; unless the image ships "
                        "it, the EPP cannot load its plugins config", ref, (_argv_text(epp),),
                        remediation="Mount the ConfigMap that holds the EndpointPickerConfig at the config file's "
                        "directory (e.g. /etc/epp).", capabilities=())], None, f"{path} (not on a volume)"
    volumes = {str(v.get("name")): v for v in k.pod_spec(epp.deployment).get("volumes") or [] if isinstance(v, dict)}
    vol = volumes.get(str(mount.get("name")), {})
    cm_ref = vol.get("configMap")
    if cm_ref is None:
        for src in (vol.get("projected") or {}).get("sources") or []:
            if isinstance(src, dict) and src.get("configMap"):
                cm_ref = src["configMap"]
                break
    if cm_ref is None:
        kind = next((t for t in ("secret", "persistentVolumeClaim", "emptyDir", "hostPath") if t in vol), "volume")
        return [], None, f"{path} from a {kind} volume (content not checked)"
    cm_name = str(cm_ref.get("name", ""))
    mp = str(mount.get("mountPath", "")).rstrip("/")
    if mount.get("subPath"):
        rel = str(mount["subPath"])
    elif path.startswith("/"):
        rel = path[len(mp) + 1:]
    else:
        rel = posixpath.basename(path)
    items = [i for i in cm_ref.get("items") or [] if isinstance(i, dict)]
    key = rel
    if items:
        item = next((i for i in items if i.get("path") == rel), None)
        if item is None:
            return [Finding(Status.FAIL, f"{ref}: -configFile {path} does not exist: volume {mount.get('name')} "
                            f"projects only {', '.join(str(i.get('path')) for i in items)} of ConfigMap {cm_name}",
                            ref, (_argv_text(epp),), remediation=f"Project the key as {rel} or point the config "
                            "file flag at a projected path.", capabilities=lost_capabilities(snap, epp))], None, path
        key = str(item.get("key"))
    where = f"{path} from ConfigMap {cm_name} (key {key})"
    cms = snap.maybe_list("ConfigMap", epp.namespace)
    if cms is None:
        return [Finding(Status.SKIP, f"{ref}: config file {path} comes from ConfigMap {cm_name}, but ConfigMaps "
                        "were not collected", ref)], None, where
    cm = next((c for c in cms if k.name(c) == cm_name), None)
    if cm is None:
        return [Finding(Status.FAIL, f"{ref}: ConfigMap {epp.namespace}/{cm_name}, mounted at {mp} for "
                        f"-configFile {path}, does not exist", ref, (_argv_text(epp),),
                        remediation=f"Create ConfigMap {cm_name} in {epp.namespace} with key {key} holding the "
                        "EndpointPickerConfig.", capabilities=lost_capabilities(snap, epp))], None, where
    data = cm.get("data") or {}
    if key not in data and key not in (cm.get("binaryData") or {}):
        keys = ", ".join(sorted(data)) or "none"
        return [Finding(Status.FAIL, f"{ref}: ConfigMap {epp.namespace}/{cm_name} has no key {key} (keys: {keys}): "
                        f"config file {path} does not exist in the EPP container", ref, (_argv_text(epp),),
                        remediation=f"Point the config file flag at one of the ConfigMap's keys, or add key {key}.",
                        capabilities=lost_capabilities(snap, epp))], None, where
    return [], str(data.get(key) or ""), where


@k.per_snapshot
def _servers_by_namespace(snap: Snapshot) -> dict[str, list[Obj]]:
    out: dict[str, list[Obj]] = {}
    for p in model_server_pods(snap):
        out.setdefault(k.namespace(p), []).append(p)
    return out


@functools.lru_cache(maxsize=256)
def _parse_yaml_cached(text: str) -> Any:
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _parse_yaml(text: str) -> Any:
    """EPPs of one chart share their config text: parse each distinct text once (a fresh copy each time)."""
    return copy.deepcopy(_parse_yaml_cached(text))


def _config_findings(epp: _llmd.Epp, facts: dict[str, Any] | None, text: str, where: str) -> tuple[list[Finding], str]:
    """Check an EndpointPickerConfig: it parses, one profile handler, refs resolve, plugin types known."""
    ref = epp.ref
    try:
        doc = _parse_yaml(text)
    except yaml.YAMLError as e:
        first = str(e).strip().splitlines()[0]
        return [Finding(Status.FAIL, f"{ref}: the plugins config {where} is not valid YAML ({first}); the EPP exits "
                        "with 'Failed to parse plugins configuration'", ref,
                        remediation="Fix the EndpointPickerConfig YAML.")], "unparsable"
    if not isinstance(doc, dict) or doc.get("kind") != "EndpointPickerConfig":
        return [Finding(Status.WARN, f"{ref}: {where} is not an EndpointPickerConfig "
                        f"(kind {doc.get('kind') if isinstance(doc, dict) else type(doc).__name__})", ref,
                        capabilities=())], "not an EndpointPickerConfig"
    plugins = [p for p in doc.get("plugins") or [] if isinstance(p, dict)]
    types = [str(p.get("type", "")) for p in plugins]
    names = {str(p.get("name") or p.get("type")) for p in plugins}
    out: list[Finding] = []
    registry = _versions.plugin_registry(facts)
    if registry is not None:
        unknown = [t for t in types if t not in registry]
        if unknown:
            out.append(Finding(Status.WARN, f"{ref}: plugin type(s) {', '.join(unknown)} in {where} are not registered "
                               f"in {_version_text(epp, facts)}; the EPP would exit with \"plugin type "
                               f"'{unknown[0]}' is not found in registry\"", ref,
                               (f"plugin types: {', '.join(types)}",),
                               remediation="Use the plugin types of the deployed image (GIE v1.x renamed "
                               "kv-cache-scorer to kv-cache-utilization-scorer and dropped the filters), or run "
                               "the image the config was written for.", capabilities=EPP_CAPABILITIES))
    handlers = [t for t in types if t.endswith("profile-handler")]
    if len(handlers) > 1 or (not handlers and (facts or {}).get("profile_handler_required")):
        out.append(Finding(Status.WARN, f"{ref}: {where} declares {len(handlers)} profile handlers; the EPP needs "
                           "exactly one (e.g. single-profile-handler)", ref, (f"plugin types: {', '.join(types)}",),
                           capabilities=EPP_CAPABILITIES))
    dangling = [str(r.get("pluginRef")) for prof in doc.get("schedulingProfiles") or [] if isinstance(prof, dict)
                for r in prof.get("plugins") or [] if isinstance(r, dict) and str(r.get("pluginRef")) not in names]
    if dangling:
        out.append(Finding(Status.WARN, f"{ref}: schedulingProfiles in {where} reference undefined plugin(s) "
                           f"{', '.join(dangling)}", ref, capabilities=EPP_CAPABILITIES))
    desc = f"{len(plugins)} plugins" + (f", all known to {epp.tag}" if registry is not None and not out else "")
    return out, desc


def _no_config(snap: Snapshot, epp: _llmd.Epp, facts: dict[str, Any] | None) -> tuple[list[Finding], str]:
    ref = epp.ref
    mode = facts.get("empty_config") if facts else None
    flag = "-configFile/-configText" if _style(epp, facts) == "camel" else "--config-file/--config-text"
    evidence = [_argv_text(epp), 'configFile="" configText=""']
    scorer_env = [str(e.get("name")) for e in epp.container.get("env") or []
                  if isinstance(e, dict) and re.search(r"^(ENABLE_|PD_|PREFILL_)|_SCORER", str(e.get("name", "")))]
    if scorer_env and facts and facts.get("config") != "env":
        evidence.append(f"env {', '.join(scorer_env)}: llm-d v0.1-style scorer settings that {epp.tag} ignores")
    unmounted = _unmounted_config_maps(snap, epp)
    if unmounted:
        evidence.append(f"ConfigMap {epp.namespace}/{unmounted[0][0]} (key {unmounted[0][1]}) holds an "
                        "EndpointPickerConfig but the EPP does not mount it")
    cm, key = unmounted[0] if unmounted else ("<plugins-config>", "<key>")
    mount_fix = (f"mount ConfigMap {cm} (e.g. at /etc/epp) and add `{flag.split('/')[0]} /etc/epp/{key}` to the "
                 "EPP args")
    if mode == "crash-nil-deref":
        return [Finding(Status.FAIL, f"{ref}: {_version_text(epp, facts)} is given no plugins config "
                        f"({flag} missing): it crashes with a nil-pointer SIGSEGV in NewSchedulerWithConfig",
                        ref, tuple(evidence),
                        remediation=f"Give the EPP an EndpointPickerConfig: {mount_fix} (or pass {flag.split('/')[1]}); "
                        f"{epp.tag} has no built-in default. Or upgrade to an EPP >= v0.7.0 (GIE >= v1.4).",
                        capabilities=lost_capabilities(snap, epp))], "no plugins config"
    if mode == "exit-scheduler-config-must-be-set":
        return [Finding(Status.FAIL, f"{ref}: {_version_text(epp, facts)} is given no plugins config ({flag} "
                        "missing): it exits with 'scheduler config must be set either by config api or through code'",
                        ref, tuple(evidence),
                        remediation=f"Give the EPP an EndpointPickerConfig: {mount_fix}, or upgrade to an EPP >= v0.7.0.",
                        capabilities=lost_capabilities(snap, epp))], "no plugins config"
    if mode == "default":
        return [], "no plugins config: the built-in default (queue, kv-cache-utilization and prefix-cache scorers)"
    if mode == "ok":
        return [], "plugins from ENABLE_* environment variables (v0.1)"
    return [Finding(Status.WARN, f"{ref}: image {epp.image} is not a known release, and no plugins config is given "
                    f"({flag} missing): EPPs before v0.7 (GIE v1.4) crash or exit without one", ref, tuple(evidence),
                    remediation=f"Pin a released EPP image, or {mount_fix}.", capabilities=())], "no plugins config"


def _unmounted_config_maps(snap: Snapshot, epp: _llmd.Epp) -> list[tuple[str, str]]:
    """(ConfigMap, key) of EndpointPickerConfigs in the EPP's namespace that it does not mount."""
    mounted = {str((v.get("configMap") or {}).get("name")) for v in k.pod_spec(epp.deployment).get("volumes") or []
               if isinstance(v, dict)}
    out = []
    for cm in snap.maybe_list("ConfigMap", epp.namespace) or []:
        if k.name(cm) in mounted:
            continue
        key = next((key for key, v in (cm.get("data") or {}).items() if "EndpointPickerConfig" in str(v)), None)
        if key is not None:
            out.append((k.name(cm), str(key)))
    return out


# ---- metrics the EPP scrapes -----------------------------------------------------------------


def _metric_findings(snap: Snapshot, epp: _llmd.Epp, facts: dict[str, Any] | None,
                     pool: _llmd.Pool | None) -> list[Finding]:
    flag = epp.flag("kvCacheUsagePercentageMetric", "kv-cache-usage-percentage-metric")
    metric = flag or (facts or {}).get("kv_metric_default")
    if not metric:
        return []
    try:
        pods = model_server_pods(snap)
    except DataUnavailable:
        return []
    if pool is not None:
        pods = [p for p in _servers_by_namespace(snap).get(pool.namespace, [])
                if k.match_labels(pool.selector, k.labels(p))]
    versions: dict[str, str] = {}
    for p in pods:
        image = str((server_container(p) or {}).get("image", ""))
        tag = k.image_tag(image)
        if "vllm/vllm-openai" in image and not _versions.is_prerelease(tag):
            versions.setdefault(str(tag), image)
    out = []
    for tag, image in versions.items():
        v = _versions.parse(tag)
        if v is None or _versions.vllm_metric_available(str(metric), v) is not False:
            continue
        how = "set by flag" if flag else f"the default of {epp.tag}"
        name = "-kvCacheUsagePercentageMetric" if _style(epp, facts) == "camel" else "--kv-cache-usage-percentage-metric"
        other = "vllm:kv_cache_usage_perc" if "gpu_cache" in str(metric) else "vllm:gpu_cache_usage_perc"
        out.append(Finding(Status.WARN, f"{epp.ref}: the EPP scrapes {metric} ({how}), which vLLM {tag} does not "
                           "emit: its KV-cache scorer and saturation detector see no data", epp.ref,
                           (f"model servers run {image}",),
                           remediation=f"Pass `{name} {other}` to the EPP (vLLM renamed the gauge in 0.9.2 and "
                           "stopped emitting vllm:gpu_cache_usage_perc in 0.11).",
                           capabilities=(CACHE_AWARE_ROUTING, SATURATION_SCHEDULING)))
    return out


# ---- the check -------------------------------------------------------------------------------


def _pool_findings(snap: Snapshot, epp: _llmd.Epp, facts: dict[str, Any] | None) -> tuple[list[Finding], _llmd.Pool | None, str]:
    ref = epp.ref
    name, ns, ns_how, group, how = pool_target(epp, facts)
    if not name:
        if epp.flags.get("endpoint-selector"):
            return [], None, f"endpoint selector {epp.flags['endpoint-selector']} (standalone, no pool)"
        flag = "-poolName" if _style(epp, facts) == "camel" else "--pool-name"
        return [Finding(Status.FAIL, f"{ref}: no InferencePool is named ({flag} missing): the EPP exits at start",
                        ref, (_argv_text(epp),), remediation=f"Pass {flag} <pool> (and the pool's namespace).",
                        capabilities=lost_capabilities(snap, epp))], None, "no pool"
    pools = [p for p in _llmd.pools(snap) if p.name == name]
    exact = next((p for p in pools if p.namespace == ns and p.group == group), None)
    lost = lost_capabilities(snap, epp)
    if exact is not None:
        allowed = (facts or {}).get("pool_groups")
        if allowed and group not in allowed:
            return [Finding(Status.FAIL, f"{ref}: {_version_text(epp, facts)} cannot read {group} pools, but "
                            f"{exact.ref} is one", ref, remediation="Move the pool to a group this EPP reads "
                            f"({', '.join(allowed)}).", capabilities=lost)], exact, exact.ref
        return [], exact, f"{exact.ref} ({group})"
    same_ns = [p for p in pools if p.namespace == ns]
    if same_ns:
        p = same_ns[0]
        if _style(epp, facts) == "camel" or (facts and p.group not in facts.get("pool_groups", [])):
            fix = f"Use a {group} InferencePool, or an EPP that reads {p.group} pools (>= v0.3 with --pool-group {p.group})."
        else:
            fix = f"Pass `--pool-group {p.group}` to the EPP."
        sure = facts is not None or how == "--pool-group"  # a group guessed for an unknown version is no proof
        return [Finding(Status.FAIL if sure else Status.WARN, f"{ref}: the EPP watches InferencePool {ns}/{name} in group {group} ({how}), "
                        f"but that pool is {p.group}: the EPP sees no pool and no endpoints", ref,
                        (_argv_text(epp), f"{p.ref} apiVersion {p.obj.get('apiVersion')}"),
                        remediation=fix, capabilities=lost)], p, p.ref
    elsewhere = [p for p in pools if p.group == group]
    if elsewhere:
        p = elsewhere[0]
        sev = Status.FAIL if facts else Status.WARN
        flag = "-poolNamespace" if _style(epp, facts) == "camel" else "--pool-namespace"
        return [Finding(sev, f"{ref}: the EPP looks for InferencePool {name} in namespace {ns} ({ns_how}), but it "
                        f"is in {p.namespace}", ref, (_argv_text(epp),),
                        remediation=f"Pass `{flag} {p.namespace}` to the EPP.", capabilities=lost)], p, p.ref
    if not pool_kind_known(snap, group):
        return [Finding(Status.SKIP, f"{ref}: InferencePool {ns}/{name} ({group}) could not be looked up: "
                        f"InferencePool.{group} was not collected", ref)], None, f"{ns}/{name} (not verified)"
    others = ", ".join(p.ref for p in _llmd.pools(snap)) or "none"
    return [Finding(Status.FAIL, f"{ref}: the EPP names InferencePool {ns}/{name} ({group}), which does not exist",
                    ref, (_argv_text(epp), f"InferencePools found: {others}"),
                    remediation="Point the EPP's pool flags at an existing InferencePool, or create it.",
                    capabilities=lost)], None, "missing pool"


@check(
    "epp.config",
    title="Endpoint picker flags and config",
    area="epp",
    severity=Severity.CRITICAL,
    inputs=INPUTS,
    requires=("cluster.access",),
    capabilities=EPP_CAPABILITIES,
    remediation="Fix the EPP's container args as named above (`kubectl edit deployment -n <ns> <epp>`).",
)
def epp_config(ctx: CheckContext) -> Iterator[Finding]:
    """EPP flags and plugins config: pool name/namespace/group, flag style, config given, mounted and valid."""
    snap = ctx.snapshot
    epps = _llmd.epps(snap)
    if not epps:
        yield Finding(Status.SKIP, "no endpoint-picker Deployment found (no EPP image or pool flags in any Deployment)")
        return
    for epp in epps:
        ref = epp.ref
        facts = _versions.epp_facts(epp.image)
        problems: list[Finding] = []
        notes: list[str] = [_version_text(epp, facts)]
        if facts is None:
            notes[0] += f" (tag {epp.tag or 'none'} is not a known release: version rules not applied)"
        # Flag style against the image version.
        camel, kebab = flag_styles(epp)
        if facts and facts["flag_style"] == "kebab" and camel:
            problems.append(Finding(
                Status.FAIL, f"{ref}: {_version_text(epp, facts)} takes kebab-case flags, but is given camelCase "
                f"-{camel[0]}: it exits with 'flag provided but not defined: -{camel[0]}'", ref,
                (_argv_text(epp), f"camelCase flags: {', '.join('-' + f for f in camel)}"),
                remediation="Rename the flags to kebab-case (--pool-name, --pool-namespace, --config-file, "
                "--grpc-port, ...) or run the image they were written for (<= v0.2.x).", capabilities=lost_capabilities(snap, epp)))
        elif facts and facts["flag_style"] == "camel" and kebab:
            problems.append(Finding(
                Status.FAIL, f"{ref}: {_version_text(epp, facts)} takes camelCase flags, but is given kebab-case "
                f"--{kebab[0]}: it exits with 'flag provided but not defined: -{kebab[0]}'", ref,
                (_argv_text(epp), f"kebab-case flags: {', '.join('--' + f for f in kebab)}"),
                remediation="Use camelCase flags (-poolName, -poolNamespace, -configFile, ...) for this image, or "
                "upgrade the EPP to >= v0.3.0 where the kebab-case flags exist.", capabilities=lost_capabilities(snap, epp)))
        else:
            notes.append(f"{_style(epp, facts) or 'no'} flags")
        # The pool it reads.
        found, pool, pool_desc = _pool_findings(snap, epp, facts)
        problems += found
        notes.append(f"pool {pool_desc}")
        # The plugins config.
        cf = epp.flag("configFile", "config-file")
        ct = epp.flag("configText", "config-text")
        if cf and ct:
            status = Status.FAIL if _style(epp, facts) == "camel" else Status.WARN
            problems.append(Finding(status, f"{ref}: both a config file and config text are given; the EPP refuses "
                                    "both at once", ref, (_argv_text(epp),),
                                    remediation="Pass only one of the config file and config text flags.",
                                    capabilities=lost_capabilities(snap, epp) if status == Status.FAIL else ()))
        elif cf:
            found, text, where = _config_source(snap, epp, cf)
            problems += found
            desc = where
            if text is not None:
                more, what = _config_findings(epp, facts, text, where)
                problems += more
                desc += f", {what}"
            notes.append(f"config {desc}")
        elif ct:
            more, what = _config_findings(epp, facts, ct, "the config text")
            problems += more
            notes.append(f"config text, {what}")
        else:
            more, what = _no_config(snap, epp, facts)
            problems += more
            notes.append(what)
        problems += _metric_findings(snap, epp, facts, pool)
        yield from problems
        if not any(f.status in (Status.FAIL, Status.WARN) for f in problems):
            yield Finding(Status.PASS, f"{ref}: " + "; ".join(notes), ref)
