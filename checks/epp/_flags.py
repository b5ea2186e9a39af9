"""An EPP's command line against its release (used by epp.config): the flag style it takes, and the pool its
pool flags name (the topology says which pool that is and why; this says what is wrong with it)."""

from __future__ import annotations

from llmd_doctor.model import Finding, Status
from llmd_doctor.topology import Epp, Pool, Topology


def style_findings(epp: Epp, lost: tuple[str, ...]) -> tuple[list[Finding], str | None]:
    """A flag style the release does not take (it exits at start), else a note naming the style."""
    camel, kebab = epp.observed_styles
    if epp.release and epp.release.flag_style == "kebab" and camel:
        return [_wrong_style(epp, lost, "kebab-case", f"camelCase -{camel[0]}", f"-{camel[0]}",
                             f"camelCase flags: {', '.join('-' + f for f in camel)}",
                             "Rename the flags to kebab-case (--pool-name, --pool-namespace, --config-file, "
                             "--grpc-port, ...) or run the image they were written for (<= v0.2.x).")], None
    if epp.release and epp.release.flag_style == "camel" and kebab:
        return [_wrong_style(epp, lost, "camelCase", f"kebab-case --{kebab[0]}", f"-{kebab[0]}",
                             f"kebab-case flags: {', '.join('--' + f for f in kebab)}",
                             "Use camelCase flags (-poolName, -poolNamespace, -configFile, ...) for this image, or "
                             "upgrade the EPP to >= v0.3.0 where the kebab-case flags exist.")], None
    return [], f"{epp.flag_style if (epp.release or camel or kebab) else 'no'} flags"


def _wrong_style(epp: Epp, lost: tuple[str, ...], takes: str, given: str, flag: str, listed: str,
                 fix: str) -> Finding:
    return Finding(Status.FAIL, f"{epp.ref}: {epp.label} takes {takes} flags, but is given {given}: it exits with "
                   f"'flag provided but not defined: {flag}'", epp.ref, (epp.argv_text, listed), remediation=fix,
                   capabilities=lost)


def pool_findings(topo: Topology, epp: Epp, lost: tuple[str, ...]) -> tuple[list[Finding], Pool | None, str]:
    """Findings about the pool the EPP names, the pool (when found) and how to describe it."""
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
