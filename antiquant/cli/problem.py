"""What the tiling commands (plan, sim, sweep) share: one problem from the command line, its plans and inputs."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .. import tiling
from ..core import dtypes, platforms, reference
from .options import add_dtype_argument

# --x-dtype / --scale-dtype / --dst choices -> DataType, from antiquant's one table of dtype names
X_DTYPES = dtypes.names_of(dtypes.X_TYPES)
SCALE_DTYPES = dtypes.names_of(dtypes.SCALE_TYPES)
DST_TYPES = dtypes.names_of(dtypes.DST_TYPES)


def add_problem_arguments(parser) -> None:
    parser.add_argument("shape", help="y's shape, e.g. 4096x11008 (the dequantized weight; int32 x holds 8 per word)")
    add_dtype_argument(parser, "--x-dtype", dtypes.X_TYPES, "int8", "x's dtype")
    scale = parser.add_mutually_exclusive_group()
    scale.add_argument("--per-tensor", action="store_true", help="one scale for the tensor (default: per channel)")
    scale.add_argument("--per-head", action="store_true",
                       help="a scale along y's second-last axis (Ascend 950: per head; y needs 2+ axes)")
    scale.add_argument("--scale-shape", metavar="SHAPE",
                       help="the scale's (and offset's) shape, e.g. 32 or 1x32x1 (Ascend 950 takes multi-dim)")
    add_dtype_argument(parser, "--scale-dtype", dtypes.SCALE_TYPES, "float32", "the scale's (and offset's) dtype")
    parser.add_argument("--offset", action="store_true", help="with an offset vector")
    add_dtype_argument(parser, "--dst", dtypes.DST_TYPES, "float16", "y's dtype")
    parser.add_argument("--sqrt-mode", action="store_true", help="square the scale first")
    parser.add_argument("--platform", default="Ascend910B", help=f"one of {', '.join(platforms.names())}")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="override a platform figure (repeatable): " + ", ".join(platforms.TUNABLE_FIELDS))


def add_strategy_arguments(parser) -> None:
    parser.add_argument("--strategy", default="cann", choices=tiling.STRATEGIES, help="tiling strategy (default cann)")
    parser.add_argument("--buffers", type=int, default=tiling.BUFF_NUM, help="UB slots per stream, 1-3 (default 2)")
    parser.add_argument("--ub-budget", type=int, help="UB bytes a core may use (default: the platform's UB)")
    parser.add_argument("--base-n", type=int, help="tile rows instead of the strategy's")
    parser.add_argument("--base-len", type=int, help="tile columns instead of the strategy's (multiple of 32)")


def strategy_from(args) -> tiling.Strategy:
    return tiling.Strategy(args.strategy, buffers=args.buffers, ub_budget=args.ub_budget, base_n=args.base_n,
                           base_len=args.base_len)


def parse_shape(text: str, what: str = "shape") -> tuple[int, ...]:
    parts = text.lower().replace(",", "x").split("x")
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        shape = ()
    if not shape or len(shape) > 8 or min(shape) < 1:
        raise ValueError(f"{what}: expected 1 to 8 positive sizes such as 4096x11008, got {text!r}")
    return shape


def scale_shape_from(args, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The scale's shape the options give for y of ``shape``: [1], [y[-2]] per head, [y[-1]] by default."""
    if args.scale_shape is not None:
        return parse_shape(args.scale_shape, "--scale-shape")
    if args.per_head:
        if len(shape) < 2:
            raise ValueError(f"--per-head: a per-head scale runs along y's second-last axis; shape {args.shape} "
                             f"has one axis")
        return (shape[-2],)
    return (1,) if args.per_tensor else (shape[-1],)


def parse_overrides(items: list[str]) -> dict[str, float]:
    values = {}
    for item in items:
        name, _, value = item.partition("=")
        try:
            values[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"--set: expected FIELD=NUMBER, got {item!r}") from None
    return values


@dataclasses.dataclass(frozen=True)
class Experiment:
    """One problem on one platform, as the command line gave it."""

    shape: tuple[int, ...]
    x_dtype: str
    scale_shape: tuple[int, ...]
    scale_dtype: str
    offset: bool
    dst: str
    sqrt_mode: bool
    profile: platforms.Platform

    @classmethod
    def from_args(cls, args) -> "Experiment":
        profile = platforms.get(args.platform).with_overrides(**parse_overrides(args.set))
        shape = parse_shape(args.shape)
        exp = cls(shape, args.x_dtype, scale_shape_from(args, shape), args.scale_dtype, args.offset, args.dst,
                  args.sqrt_mode, profile)
        for what, name, table, allowed in (("--x-dtype", exp.x_dtype, X_DTYPES, profile.x_dtypes),
                                           ("--scale-dtype", exp.scale_dtype, SCALE_DTYPES, profile.scale_dtypes),
                                           ("--dst", exp.dst, DST_TYPES, profile.y_dtypes)):
            if table[name] not in allowed:
                names = ", ".join(n for n, d in table.items() if d in allowed)
                raise ValueError(f"{what}: {profile.name} supports {names}, got {name}")
        if exp.x_dtype == "int32" and exp.shape[-1] % 8:
            raise ValueError(f"shape: int32 x holds 8 values per word, so the last size must be a multiple "
                             f"of 8, got {exp.shape[-1]}")
        if exp.x_dtype == "int4" and exp.shape[-1] % 2:
            raise ValueError(f"shape: int4 x needs an even last size, got {exp.shape[-1]}")
        exp.check()
        return exp

    def check(self) -> None:
        """The operator's own rules for this problem (``core.validation`` on data-less stand-ins): a scale
        shape the platform refuses is refused here, before planning."""
        from ..core.tensor import AclTensor
        from ..core.validation import check_description

        def shadow(datatype, shape):
            # shape and dtype only: the rules read nothing else, and a shape numpy cannot hold is plannable
            return AclTensor(np.zeros((), dtypes.numpy_dtype_of(datatype)), datatype, shape, packed=False)
        x, y = shadow(X_DTYPES[self.x_dtype], self.x_shape), shadow(DST_TYPES[self.dst], self.shape)
        scale = shadow(SCALE_DTYPES[self.scale_dtype], self.scale_shape)
        try:
            check_description(x, scale, scale if self.offset else None, DST_TYPES[self.dst], self.sqrt_mode, y,
                              self.profile)
        except dtypes.AclnnError as err:
            raise ValueError(f"{err.args[0]} ({self.profile.name} refuses this problem)") from None

    @property
    def x_shape(self) -> tuple[int, ...]:
        return (*self.shape[:-1], self.shape[-1] // 8) if self.x_dtype == "int32" else self.shape

    @property
    def scale_size(self) -> int:
        return math.prod(self.scale_shape)

    @property
    def scale_kind(self) -> str:
        """"per-tensor", "per-channel" or "per-head", by the rule the operator reads a scale with
        (docs/spec.md section 8.3.3)."""
        mode = tiling.arch35.select_mode(self.shape, self.scale_shape)
        return {tiling.RegbaseMode.PER_TENSOR: "per-tensor", tiling.RegbaseMode.PER_HEAD: "per-head"}.get(
            mode, "per-channel")

    def plan(self, strategy) -> tiling.TilePlan:
        return tiling.plan(self.x_shape, x_dtype=X_DTYPES[self.x_dtype], scale_shape=self.scale_shape,
                           scale_dtype=SCALE_DTYPES[self.scale_dtype], has_offset=self.offset,
                           dst_type=DST_TYPES[self.dst], sqrt_mode=self.sqrt_mode, platform=self.profile,
                           strategy=strategy)

    def describe(self) -> str:
        scale = f"{self.scale_kind} {self.scale_dtype} scale"
        if len(self.scale_shape) > 1:
            scale += f" of shape {'x'.join(map(str, self.scale_shape))}"
        extras = "".join((" + offset" if self.offset else "", ", sqrt mode" if self.sqrt_mode else ""))
        return (f"{'x'.join(map(str, self.shape))} {self.x_dtype} -> {self.dst}, {scale}{extras}, "
                f"on {self.profile.name}")

    def inputs(self, seed: int = 0):
        """Random operator inputs: (x, scale, offset, dst_type) for ``ascend_anti_quant``."""
        x, scale, offset = reference.random_inputs(self.shape, self.x_dtype, scale_dtype=self.scale_dtype,
                                                   scale_shape=self.scale_shape, offset=self.offset, seed=seed)
        return x, scale, offset, DST_TYPES[self.dst]


def core_groups(counts) -> list[tuple[int, int, tuple]]:
    """Runs of consecutive cores with equal summaries: (first, last, summary)."""
    groups = []
    for c, summary in enumerate(counts):
        if groups and groups[-1][2] == summary:
            groups[-1] = (groups[-1][0], c, summary)
        else:
            groups.append((c, c, summary))
    return groups


def core_label(first: int, last: int) -> str:
    return f"core {first}" if first == last else f"cores {first}-{last}"
