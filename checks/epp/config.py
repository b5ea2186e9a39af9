"""epp.config: the endpoint picker's flags and plugins config, read against what its release expects.

It runs whether or not the EPP is up: when the EPP crash-loops, its flags usually say why (a v0.2.x EPP
without -configFile dies with a nil-pointer SIGSEGV; camelCase flags on a v1.x image exit with "flag
provided but not defined").
"""

from __future__ import annotations

from collections.abc import Iterator

from llmd_doctor import k8s, knowledge
from llmd_doctor import versions as v
from llmd_doctor.kinds import CONFIGMAP, DEPLOYMENT, HTTPROUTE, POD, POOL_KEYS, REPLICASET, STATEFULSET
from llmd_doctor.model import (
    CACHE_AWARE_ROUTING,
    EPP_CAPABILITIES,
    SATURATION_SCHEDULING,
    CheckContext,
    Finding,
    Severity,
    Status,
)
from llmd_doctor.registry import check
from llmd_doctor.topology import Epp, Pool, Topology, topology
from llmd_doctor.topology.servers import server_container

from . import _plugins_config
from ._config_source import file_findings, no_config


@check(
    "epp.config",
    title="Endpoint picker flags and config",
    area="epp",
    severity=Severity.CRITICAL,
    inputs=(DEPLOYMENT, POD, CONFIGMAP, *POOL_KEYS, HTTPROUTE, REPLICASET, STATEFULSET),
    requires=("cluster.access",),
    capabilities=EPP_CAPABILITIES,
    explains=("epp.logs", "epp.deployment", "inferencepool.endpoint-picker",
              "e2e.chat-completion", "e2e.routing"),
    why="An EPP given flags its release does not take, a pool it cannot find, or a plugins config it cannot "
        "load exits at start or routes nothing — the most common cause of a crash-looping endpoint picker.",
    remediation="Fix the EPP's container args as named above (`kubectl edit deployment -n <ns> <epp>`).",
)
def epp_config(ctx: CheckContext) -> Iterator[Finding]:
    """EPP flags and plugins config: pool name/namespace/group, flag style, config given, mounted and valid."""
    topo = topology(ctx.snapshot)
    epps = topo.epps.require()
    if not epps:
        yield Finding(Status.SKIP, "no endpoint-picker Deployment found (no EPP image or pool flags in any Deployment)")
        return
    for epp in epps:
        yield from _judge(topo, epp)


def _judge(topo: Topology, epp: Epp) -> Iterator[Finding]:
    ref, lost = epp.ref, topo.impact_of_epp(epp)
    problems: list[Finding] = []
    notes = [epp.label + ("" if epp.release else f" (tag {epp.tag or 'none'} is not a known release: version rules "
                          "not applied)")]
    camel, kebab = epp.observed_styles
    if epp.release and epp.release.flag_style == "kebab" and camel:
        problems.append(Finding(
            Status.FAIL, f"{ref}: {epp.label} takes kebab-case flags, but is given camelCase -{camel[0]}: it exits "
            f"with 'flag provided but not defined: -{camel[0]}'", ref,
            (epp.argv_text, f"camelCase flags: {', '.join('-' + f for f in camel)}"),
            remediation="Rename the flags to kebab-case (--pool-name, --pool-namespace, --config-file, --grpc-port, "
            "...) or run the image they were written for (<= v0.2.x).", capabilities=lost))
    elif epp.release and epp.release.flag_style == "camel" and kebab:
        problems.append(Finding(
            Status.FAIL, f"{ref}: {epp.label} takes camelCase flags, but is given kebab-case --{kebab[0]}: it exits "
            f"with 'flag provided but not defined: -{kebab[0]}'", ref,
            (epp.argv_text, f"kebab-case flags: {', '.join('--' + f for f in kebab)}"),
            remediation="Use camelCase flags (-poolName, -poolNamespace, -configFile, ...) for this image, or upgrade "
            "the EPP to >= v0.3.0 where the kebab-case flags exist.", capabilities=lost))
    else:
        notes.append(f"{epp.flag_style if (epp.release or camel or kebab) else 'no'} flags")
    found, pool, pool_desc = _pool(topo, epp, lost)
    problems += found
    notes.append(f"pool {pool_desc}")
    cfg = epp.config
    if cfg.given == "both":
        status = Status.FAIL if epp.flag_style == "camel" else Status.WARN
        problems.append(Finding(status, f"{ref}: both a config file and config text are given; the EPP refuses both "
                                "at once", ref, (epp.argv_text,), remediation="Pass only one of the config file and "
                                "config text flags.", capabilities=lost if status == Status.FAIL else ()))
    elif cfg.file is not None:
        more, text, where = file_findings(epp, cfg.file, lost)
        problems += more
        if text is not None:
            extra, what = _plugins_config.findings(epp, text, where)
            problems += extra
            where += f", {what}"
        notes.append(f"config {where}")
    elif cfg.text_flag:
        more, what = _plugins_config.findings(epp, cfg.text_flag, "the config text")
        problems += more
        notes.append(f"config text, {what}")
    else:
        more, what = no_config(epp, lost)
        problems += more
        notes.append(what)
    problems += _metrics(topo, epp, pool)
    yield from problems
    if not any(f.status in (Status.FAIL, Status.WARN) for f in problems):
        yield Finding(Status.PASS, f"{ref}: " + "; ".join(notes), ref)


def _pool(topo: Topology, epp: Epp, lost: tuple[str, ...]) -> tuple[list[Finding], Pool | None, str]:
    ref, t = epp.ref, epp.target
    if not t.name:
        if epp.standalone:
            return [], None, f"endpoint selector {epp.flags['endpoint-selector']} (standalone, no pool)"
        flag = epp.flag_name("poolName", "pool-name")
        return [Finding(Status.FAIL, f"{ref}: no InferencePool is named ({flag} missing): the EPP exits at start", ref,
                        (epp.argv_text,), remediation=f"Pass {flag} <pool> (and the pool's namespace).",
                        capabilities=lost)], None, "no pool"
    found = epp.pool
    if found.found:
        pool = found.target
        assert pool is not None
        allowed = epp.release.pool_groups if epp.release else ()
        if allowed and t.group not in allowed:
            return [Finding(Status.FAIL, f"{ref}: {epp.label} cannot read {t.group} pools, but {pool.ref} is one", ref,
                            remediation=f"Move the pool to a group this EPP reads ({', '.join(allowed)}).",
                            capabilities=lost)], pool, pool.ref
        return [], pool, f"{pool.ref} ({t.group})"
    named = [p for p in topo.pools if p.name == t.name]
    same_ns = [p for p in named if p.namespace == t.namespace]
    if same_ns:
        p = same_ns[0]
        if epp.flag_style == "camel" or (epp.release and p.group not in epp.release.pool_groups):
            fix = f"Use a {t.group} InferencePool, or an EPP that reads {p.group} pools (>= v0.3 with --pool-group {p.group})."
        else:
            fix = f"Pass `--pool-group {p.group}` to the EPP."
        return [Finding(Status.FAIL if t.sure else Status.WARN, f"{ref}: the EPP watches InferencePool "
                        f"{t.namespace}/{t.name} in group {t.group} ({t.group_from}), but that pool is {p.group}: the "
                        "EPP sees no pool and no endpoints", ref,
                        (epp.argv_text, f"{p.ref} apiVersion {p.obj.get('apiVersion')}"),
                        remediation=fix, capabilities=lost)], p, p.ref
    elsewhere = [p for p in named if p.group == t.group]
    if elsewhere:
        p = elsewhere[0]
        flag = epp.flag_name("poolNamespace", "pool-namespace")
        return [Finding(Status.FAIL if epp.release else Status.WARN, f"{ref}: the EPP looks for InferencePool {t.name} "
                        f"in namespace {t.namespace} ({t.namespace_from}), but it is in {p.namespace}", ref,
                        (epp.argv_text,), remediation=f"Pass `{flag} {p.namespace}` to the EPP.",
                        capabilities=lost)], p, p.ref
    if found.unknown:
        return [Finding.unverifiable(found.gap, f"{ref}: InferencePool {t.text} could not be looked up", ref)], \
            None, f"{t.namespace}/{t.name} (not verified)"
    others = ", ".join(p.ref for p in topo.pools) or "none"
    return [Finding(Status.FAIL, f"{ref}: the EPP names InferencePool {t.text}, which does not exist", ref,
                    (epp.argv_text, f"InferencePools found: {others}"),
                    remediation="Point the EPP's pool flags at an existing InferencePool, or create it.",
                    capabilities=lost)], None, "missing pool"


def _metrics(topo: Topology, epp: Epp, pool: Pool | None) -> list[Finding]:
    """The KV-cache metric the EPP scrapes against what the model servers' vLLM emits."""
    flag = epp.flag("kvCacheUsagePercentageMetric", "kv-cache-usage-percentage-metric")
    metric = flag or epp.facts.kv_metric_default
    if not metric:
        return []
    groups = pool.servers if pool is not None else list(topo.servers)
    versions: dict[str, str] = {}
    for p in (p for g in groups for p in g.pods):
        image = str((server_container(p) or {}).get("image", ""))
        tag = k8s.image_tag(image)
        if "vllm/vllm-openai" in image and not v.is_prerelease(tag):
            versions.setdefault(str(tag), image)
    out = []
    for tag, image in versions.items():
        version = v.parse(tag)
        if version is None or knowledge.vllm_metric_available(str(metric), version) is not False:
            continue
        how = "set by flag" if flag else f"the default of {epp.tag}"
        name = epp.flag_name("kvCacheUsagePercentageMetric", "kv-cache-usage-percentage-metric")
        other = "vllm:kv_cache_usage_perc" if "gpu_cache" in str(metric) else "vllm:gpu_cache_usage_perc"
        out.append(Finding(Status.WARN, f"{epp.ref}: the EPP scrapes {metric} ({how}), which vLLM {tag} does not emit: "
                           "its KV-cache scorer and saturation detector see no data", epp.ref,
                           (f"model servers run {image}",),
                           remediation=f"Pass `{name} {other}` to the EPP (vLLM renamed the gauge in 0.9.2 and "
                           "stopped emitting vllm:gpu_cache_usage_perc in 0.11).",
                           capabilities=(CACHE_AWARE_ROUTING, SATURATION_SCHEDULING)))
    return out

