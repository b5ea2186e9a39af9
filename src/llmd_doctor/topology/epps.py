"""Endpoint pickers: the EPP Deployment, which release it is, the pool it serves *and why*, its config.

Which pool an EPP watches is derived here only: the name flag (`-poolName` / `--pool-name`), the
namespace (the flag, else the env var its release reads, else the flag's default "default"), and the
API group (`--pool-group`, else the release's default, else what its flag style implies) — each with
the reason, because "the EPP looks in namespace default" is the cause of real outages.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from llmd_doctor import k8s, knowledge
from llmd_doctor import versions as v
from llmd_doctor.kinds import CONFIGMAP, INFERENCE, POD, POOL_KEYS, SERVICE, X_INFERENCE
from llmd_doctor.knowledge import EppRelease
from llmd_doctor.memo import per_object
from llmd_doctor.topology.known import Items, ObjectNode, Ref, recorded

if TYPE_CHECKING:
    from llmd_doctor.topology.pools import Pool

Obj = dict[str, Any]

# Images that are an endpoint picker (GIE's epp, llm-d-inference-scheduler, llm-d-router).
EPP_IMAGE = re.compile(
    r"(llm-d-inference-scheduler|llm-d-router-endpoint-picker|gateway-api-inference-extension/epp|/epp:)"
)
EPP_POOL_FLAGS = ("poolName", "pool-name", "endpoint-selector")
_CAMEL = re.compile(r"[a-z][A-Z]")
# Flags of the logging libraries, in both releases' binaries: they say nothing about the style.
_NEUTRAL = re.compile(r"^(v|zap-[\w-]+|kubeconfig|add_dir_header|alsologtostderr|log_[\w]+|logtostderr|"
                      r"one_output|skip_headers|skip_log_headers|stderrthreshold|vmodule)$")


def argv(container: Obj) -> list[str]:
    return [str(a) for a in (container.get("command") or []) + (container.get("args") or [])]


@per_object
def is_epp_container(c: Obj) -> bool:
    if EPP_IMAGE.search(str(c.get("image", ""))):
        return True
    args = argv(c)
    # A flag's name is in the text of an argument: most containers have none, and are not parsed.
    if not any(f in a for a in args for f in EPP_POOL_FLAGS):
        return False
    return any(f in k8s.parse_args(args) for f in EPP_POOL_FLAGS)


def epp_container(workload: Obj) -> Obj | None:
    return next((c for c in k8s.containers(k8s.pod_spec(workload), init=False) if is_epp_container(c)), None)


@dataclass(frozen=True)
class PoolTarget:
    """The pool an EPP watches, and how each part was chosen."""

    name: str | None
    name_from: str
    namespace: str
    namespace_from: str  # "flag" | "env NAMESPACE" | "default (no pool-namespace flag)"
    group: str
    group_from: str  # "--pool-group" | "the default of --pool-group" | …
    sure: bool  # the group comes from a flag or a known release, not a guess from the flag style

    @property
    def namespace_explicit(self) -> bool:
        return self.namespace_from == "flag"

    @property
    def text(self) -> str:
        return f"{self.namespace}/{self.name} ({self.group})"


@dataclass(frozen=True)
class ConfigFile:
    """Where `--config-file` comes from: the mount, the volume, the ConfigMap key."""

    path: str
    mount: Obj | None
    volume_kind: str | None  # configMap | secret | persistentVolumeClaim | emptyDir | hostPath | volume
    configmap: str | None
    key: str | None
    projected: tuple[str, ...]  # the paths a volume with `items` projects
    item_missing: bool  # items restrict the projection and the file is not among them
    source: Ref[Obj] = field(default_factory=Ref)  # the ConfigMap
    text: str | None = None  # the config, when the ConfigMap holds the key

    @property
    def relative(self) -> bool:
        return not self.path.startswith("/")

    @property
    def mount_path(self) -> str:
        return str((self.mount or {}).get("mountPath", "")).rstrip("/")

    @property
    def where(self) -> str:
        if self.configmap and self.key:
            return f"{self.path} from ConfigMap {self.configmap} (key {self.key})"
        return self.path

    @property
    def key_present(self) -> bool:
        cm = self.source.target
        return cm is not None and self.key is not None and (
            self.key in (cm.get("data") or {}) or self.key in (cm.get("binaryData") or {}))


@dataclass(frozen=True)
class EppConfig:
    """The plugins config an EPP is given: `--config-text`, `--config-file`, both or none."""

    given: str  # text | file | both | none
    text_flag: str | None
    file: ConfigFile | None
    unmounted: tuple[tuple[str, str], ...] = ()  # (ConfigMap, key) holding an EndpointPickerConfig, not mounted

    @property
    def text(self) -> str | None:
        """The config as the EPP reads it, when the snapshot shows it."""
        if self.text_flag:
            return self.text_flag
        return self.file.text if self.file else None


@dataclass(eq=False)
class Epp(ObjectNode):
    KIND: ClassVar[str] = "Deployment"

    deployment: Obj
    container: Obj
    flags: dict[str, str]
    release: EppRelease | None
    target: PoolTarget
    _pool: Ref[Pool] = field(default_factory=Ref)
    _pods: Items[Obj] = field(default_factory=Items)
    _services: Items[Obj] = field(default_factory=Items)
    _config: EppConfig | None = None

    @property
    def subject(self) -> Obj:
        return self.deployment

    @property
    def image(self) -> str:
        return str(self.container.get("image", ""))

    @property
    def tag(self) -> str | None:
        return k8s.image_tag(self.image)

    @property
    def facts(self) -> EppRelease:
        """The release's facts, or the fallback for its flag style when the release is unknown."""
        return self.release or knowledge.epp_fallback(self.flag_style)

    @property
    def product(self) -> str:
        return knowledge.epp_product(self.image) or self.image.rsplit("/", 1)[-1].split(":", 1)[0]

    @property
    def label(self) -> str:
        """`llm-d-inference-scheduler v0.2.1 (GIE v0.5)`."""
        return f"{self.product} {self.tag or '(untagged)'}" + (f" (GIE {self.release.gie})" if self.release else "")

    @property
    def observed_styles(self) -> tuple[list[str], list[str]]:
        """(camelCase flags, kebab-case flags) on its command line; logging flags are neither."""
        camel = [f for f in self.flags if not _NEUTRAL.match(f) and _CAMEL.search(f)]
        kebab = [f for f in self.flags if not _NEUTRAL.match(f) and "-" in f and not _CAMEL.search(f)]
        return camel, kebab

    @property
    def flag_style(self) -> str:
        """camel (GIE <= v0.5) or kebab (GIE >= v1.0): the release's, else what the flags look like."""
        if self.release is not None:
            return self.release.flag_style
        camel, _ = self.observed_styles
        return "camel" if camel else "kebab"

    def flag(self, camel: str, kebab: str) -> str | None:
        return self.flags.get(camel, self.flags.get(kebab))

    def flag_name(self, camel: str, kebab: str) -> str:
        """The spelling of a flag this EPP's style takes (`-configFile` / `--config-file`)."""
        return f"-{camel}" if self.flag_style == "camel" else f"--{kebab}"

    def env(self, name: str) -> str | None:
        """An env var's literal value; a `metadata.namespace` fieldRef resolves to the EPP's namespace."""
        for e in self.container.get("env") or []:
            if e.get("name") != name:
                continue
            if "value" in e:
                return str(e["value"])
            if ((e.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath") == "metadata.namespace":
                return self.namespace
        return None

    @property
    def argv_text(self) -> str:
        text = " ".join(argv(self.container))
        return f"args: {text[:300]}" + ("…" if len(text) > 300 else "")

    @property
    def service_account(self) -> str:
        spec = k8s.pod_spec(self.deployment)
        return str(spec.get("serviceAccountName") or spec.get("serviceAccount") or "default")

    @property
    def template_labels(self) -> dict[str, str]:
        meta = ((self.deployment.get("spec") or {}).get("template") or {}).get("metadata") or {}
        return {str(a): str(b) for a, b in (meta.get("labels") or {}).items()}

    @property
    def grpc_port(self) -> int:
        value = self.flag("grpcPort", "grpc-port")
        return int(value) if value and value.isdigit() else 9002

    @property
    def standalone(self) -> bool:
        """Endpoint-selector mode (llm-d-router): no pool at all."""
        return not self.target.name and "endpoint-selector" in self.flags

    # ---- relations ---------------------------------------------------------------------------------

    @recorded(*POOL_KEYS)
    def pool(self) -> Ref[Pool]:
        """The pool its flags name (found, missing, or unknown when that pool kind was not read)."""
        return self._pool

    @recorded(POD)
    def pods(self) -> Items[Obj]:
        return self._pods

    @recorded(SERVICE)
    def services(self) -> Items[Obj]:
        """Services in its namespace whose selector matches its pods."""
        return self._services

    @recorded(CONFIGMAP)
    def config(self) -> EppConfig:
        assert self._config is not None
        return self._config


# ---- reading an EPP Deployment ----------------------------------------------------------------------


def parse_epp(deployment: Obj) -> Epp | None:
    container = epp_container(deployment)
    if container is None:
        return None
    flags = k8s.parse_args(argv(container))
    release = knowledge.epp_release(str(container.get("image", "")), k8s.image_tag(str(container.get("image", ""))))
    epp = Epp(deployment, container, flags, release, PoolTarget(None, "", "", "", "", "", False))
    epp.target = _target(epp)
    return epp


def _target(epp: Epp) -> PoolTarget:
    style = epp.flag_style
    name = epp.flag("poolName", "pool-name")
    name_from = "flag"
    if not name and style == "camel" and (env := epp.env("POOL_NAME")):
        name, name_from = env, "env POOL_NAME"
    env_name, default_ns = knowledge.pool_namespace_fallback(style)
    ns_flag = epp.flag("poolNamespace", "pool-namespace")
    if ns_flag:
        ns, ns_from = ns_flag, "flag"
    elif env_name and (val := epp.env(env_name)):
        ns, ns_from = val, f"env {env_name}"
    else:
        ns, ns_from = default_ns, "default (no pool-namespace flag)"
    release = epp.release
    group_flag = epp.flags.get("pool-group")
    if group_flag and (release is None or release.pool_group_flag):
        group, how, sure = group_flag, "--pool-group", True
    elif release is not None and release.pool_group_flag:
        group, how, sure = release.default_pool_group, "the default of --pool-group", True
    elif release is not None:
        group, how, sure = release.pool_groups[0], "the only pool group this version reads", True
    elif style == "camel":
        group, how, sure = X_INFERENCE, "camelCase flags (GIE <= v0.5 reads only x-k8s.io pools)", False
    else:
        group, how, sure = INFERENCE, "the --pool-group default of GIE >= v1.0", False
    return PoolTarget(name, name_from, ns, ns_from, group, how, sure)


def config_of(epp: Epp, configmaps: Items[Obj]) -> EppConfig:
    """What plugins config the EPP is given, resolved to the ConfigMap key a --config-file reads."""
    text = epp.flag("configText", "config-text")
    path = epp.flag("configFile", "config-file")
    unmounted = _unmounted(epp, configmaps)
    if text and path:
        return EppConfig("both", text, _config_file(epp, path, configmaps), unmounted)
    if text:
        return EppConfig("text", text, None, unmounted)
    if path:
        return EppConfig("file", None, _config_file(epp, path, configmaps), unmounted)
    return EppConfig("none", None, None, unmounted)


def _find_mount(container: Obj, path: str) -> Obj | None:
    mounts = sorted(container.get("volumeMounts") or [], key=lambda m: -len(str(m.get("mountPath", ""))))
    for m in mounts:
        mp = str(m.get("mountPath", "")).rstrip("/")
        if path.startswith("/"):
            if path == mp or path.startswith(mp + "/"):
                return m
        elif posixpath.dirname(path) and mp.endswith("/" + posixpath.dirname(path)):
            return m  # a relative path resolves from the image's WORKDIR, which the snapshot does not show
    return None


def _config_file(epp: Epp, path: str, configmaps: Items[Obj]) -> ConfigFile:
    mount = _find_mount(epp.container, path)
    if mount is None:
        return ConfigFile(path, None, None, None, None, (), False)
    volumes = {str(x.get("name")): x for x in k8s.pod_spec(epp.deployment).get("volumes") or []}
    vol = volumes.get(str(mount.get("name")), {})
    cm_ref = vol.get("configMap")
    if cm_ref is None:
        cm_ref = next((s["configMap"] for s in (vol.get("projected") or {}).get("sources") or []
                       if s.get("configMap")), None)
    if cm_ref is None:
        kind = next((t for t in ("secret", "persistentVolumeClaim", "emptyDir", "hostPath") if t in vol), "volume")
        return ConfigFile(path, mount, kind, None, None, (), False)
    cm_name = str(cm_ref.get("name", ""))
    mp = str(mount.get("mountPath", "")).rstrip("/")
    if mount.get("subPath"):
        rel = str(mount["subPath"])
    elif path.startswith("/"):
        rel = path[len(mp) + 1:]
    else:
        rel = posixpath.basename(path)
    items = list(cm_ref.get("items") or [])
    key: str | None = rel
    if items:
        item = next((i for i in items if i.get("path") == rel), None)
        if item is None:
            return ConfigFile(path, mount, "configMap", cm_name, None,
                              tuple(str(i.get("path")) for i in items), True)
        key = str(item.get("key"))
    found = next((c for c in configmaps if k8s.name(c) == cm_name), None)
    gap = configmaps.gaps[0] if configmaps.gaps and found is None else None
    source: Ref[Obj] = Ref(found, gap, f"ConfigMap {epp.namespace}/{cm_name}")
    text = str((found.get("data") or {}).get(key) or "") if found is not None and key in (found.get("data") or {}) \
        else None
    return ConfigFile(path, mount, "configMap", cm_name, key, (), False, source, text)


def _unmounted(epp: Epp, configmaps: Items[Obj]) -> tuple[tuple[str, str], ...]:
    mounted = {str((x.get("configMap") or {}).get("name")) for x in k8s.pod_spec(epp.deployment).get("volumes") or []}
    out = []
    for cm in configmaps:
        if k8s.name(cm) in mounted:
            continue
        key = next((key for key, val in (cm.get("data") or {}).items() if "EndpointPickerConfig" in str(val)), None)
        if key is not None:
            out.append((k8s.name(cm), str(key)))
    return tuple(out)


def release_text(release: EppRelease | None) -> str:
    return f"GIE {release.gie}" if release else "unknown release"


def version_of(epp: Epp) -> v.Version | None:
    return v.parse(epp.tag)
