"""epp.config: the endpoint picker's flags and plugins config, read against what its release expects.

It runs whether or not the EPP is up: when the EPP crash-loops, its flags usually say why (a v0.2.x EPP
without -configFile dies with a nil-pointer SIGSEGV; camelCase flags on a v1.x image exit with "flag
provided but not defined").
"""

from __future__ import annotations

from collections.abc import Iterator

from llmd_doctor.kinds import CONFIGMAP, DEPLOYMENT, HTTPROUTE, POD, POOL_KEYS, REPLICASET, STATEFULSET
from llmd_doctor.model import EPP_CAPABILITIES, CheckContext, Finding, Severity, Status
from llmd_doctor.plugin_catalog import catalog_for
from llmd_doctor.registry import check
from llmd_doctor.topology import Epp, Topology, topology

from . import _metric_rules
from ._flags import pool_findings, style_findings
from ._plugins_config import config_findings


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
    """EPP flags and plugins config: pool name/namespace/group, flag style, config given, mounted and valid.

    The plugins config — the config text, the file the config-file flag names in its mounted ConfigMap, or
    the release's built-in default — is read against the catalog of the deployed EPP release
    (checks/knowledge/epp_plugins.yaml): apiVersion, kind and the top-level fields its strict decoder takes
    (GIE v1.5 renamed `data` to `dataLayer`); feature gates; the plugin types it registers; each plugin's
    parameters — unknown (llm-d-router rejects them, older releases ignore them; names match
    case-insensitively), required, of the wrong type; alpha plugins without --allow-experimental-plugins;
    profiles, every plugin they reference, scorer weights, one picker each (or the release's default); the
    profile handler and what it needs (single-profile-handler: one profile; pd-profile-handler: its decode and
    prefill profiles and, from scheduler v0.6, a pd-decider defined before it); the data plugins consume and
    its producers (llm-d-router); metric flags the release refuses; and the metric names the scorers and the
    saturation detector scrape against what the model servers' vLLM emits (checks/knowledge/vllm.yaml).

    What makes the EPP exit at start is `fail`, as is what fails every request; what it ignores or gets no
    data for is `warn`, with the capabilities it costs. Each finding names the field, the release, the rule
    and the file the rule is read from, e.g.

        warn  Deployment/llm-d/epp: plugins[2] (precise-prefix-cache-scorer).parameters.blockSizeTokens:
              `blockSizeTokens` is not a parameter of precise-prefix-cache-scorer in
              llm-d-inference-scheduler v0.5.0 (it takes tokenProcessorConfig, indexerConfig, kvEventsConfig);
              the loader ignores unknown parameters, so the setting has no effect
              rule (llm-d-inference-scheduler v0.5): parameters are decoded with encoding/json: unknown keys
              are ignored, names match case-insensitively
              source: llm-d/llm-d-inference-scheduler:pkg/plugins/scorer/precise_prefix_cache.go@v0.5.1
        fail  Deployment/llm-d/epp: plugins[0] (token-load: token-load-scorer): token-load (token-load-scorer)
              requires UncachedRequestTokensDataKey, which no configured plugin produces, and llm-d-router
              v0.9.0 registers no default producer for it; llm-d-router v0.9.0 refuses the config and exits
              at start
    """
    topo = topology(ctx.snapshot)
    epps = topo.epps.require()
    if not epps:
        yield Finding(Status.SKIP, "no endpoint-picker Deployment found (no EPP image or pool flags in any Deployment)")
        return
    for epp in epps:
        yield from _judge(topo, epp)


def _judge(topo: Topology, epp: Epp) -> Iterator[Finding]:
    lost = topo.impact_of_epp(epp)
    notes = [epp.label + ("" if epp.release else f" (tag {epp.tag or 'none'} is not a known release: version rules "
                          "not applied)")]
    problems, style = style_findings(epp, lost)
    notes += [style] if style else []
    found, pool, pool_desc = pool_findings(topo, epp, lost)
    problems += found
    notes.append(f"pool {pool_desc}")
    found, what, read = config_findings(epp, lost)
    problems += found
    notes.append(what)
    cat = catalog_for(epp.image, epp.tag)
    groups = list(pool.servers) if pool is not None else list(topo.servers)
    problems += _metric_rules.findings(epp, cat, read, groups, lost)
    yield from problems
    if not any(f.status in (Status.FAIL, Status.WARN) for f in problems):
        yield Finding(Status.PASS, f"{epp.ref}: " + "; ".join(notes), epp.ref)
