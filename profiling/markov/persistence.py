"""Persistence: named chains and extra arrays to and from compressed ``.npz`` bytes."""

import io
import zipfile

import numpy as np
from scipy import sparse

from profiling.markov.chain import Chain, OrderTable


def chains_dump(chains: dict[str, Chain], extra: dict[str, np.ndarray]) -> bytes:
    """Serialise named chains and extra arrays to compressed ``.npz`` bytes (counts
    stored as small unsigned integers)."""
    arrays: dict[str, np.ndarray] = {f"extra.{k}": v for k, v in extra.items()}
    for name, chain in chains.items():
        arrays[f"{name}.meta"] = np.array(
            [
                chain.vocab_size,
                chain.max_order,
                chain.alpha,
                chain.beta,
                chain.min_support,
                chain.group_count,
            ],
            dtype=np.float64,
        )
        for order, table in enumerate(chain.tables):
            prefix = f"{name}.{order}"
            arrays[f"{prefix}.keys"] = table.keys
            arrays[f"{prefix}.data"] = _compact(table.counts.data)
            arrays[f"{prefix}.indices"] = _compact(table.counts.indices)
            arrays[f"{prefix}.indptr"] = table.counts.indptr
            arrays[f"{prefix}.totals"] = _compact(table.totals)
    buffer = io.BytesIO()
    # Fast deflate: the arrays are already small integers; a higher level costs
    # several times the time for a few percent of bytes.
    with zipfile.ZipFile(
        buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1
    ) as archive:
        for key, array in arrays.items():
            with archive.open(f"{key}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def _compact(array: np.ndarray) -> np.ndarray:
    """Counts (whole numbers in floats) and column indices in the smallest unsigned
    integer type that holds them exactly; ``chains_load`` widens them back."""
    if len(array) == 0 or array.min() < 0:
        return array
    if array.dtype.kind == "f" and not np.array_equal(array, np.floor(array)):
        return array
    top = array.max()
    for kind in (np.uint8, np.uint16, np.uint32):
        if top <= np.iinfo(kind).max:
            return array.astype(kind)
    return array


def chains_load(payload: bytes) -> tuple[dict[str, Chain], dict[str, np.ndarray]]:
    with np.load(io.BytesIO(bytes(payload))) as stored:
        arrays = {key: stored[key] for key in stored.files}
    extra = {k[len("extra.") :]: v for k, v in arrays.items() if k.startswith("extra.")}
    chains = {}
    for key in arrays:
        if not key.endswith(".meta") or key.startswith("extra."):
            continue
        name = key[: -len(".meta")]
        vocab, max_order, alpha, beta, support, groups = arrays[key]
        vocab, max_order = int(vocab), int(max_order)
        tables = []
        for order in range(max_order + 1):
            prefix = f"{name}.{order}"
            keys = arrays[f"{prefix}.keys"]
            tables.append(
                OrderTable(
                    keys=keys,
                    counts=sparse.csr_matrix(
                        (
                            arrays[f"{prefix}.data"].astype(np.float64),
                            arrays[f"{prefix}.indices"].astype(np.int32),
                            arrays[f"{prefix}.indptr"],
                        ),
                        shape=(len(keys) + 1, vocab),
                    ),
                    totals=arrays[f"{prefix}.totals"].astype(np.float64),
                )
            )
        chains[name] = Chain(
            vocab_size=vocab,
            max_order=max_order,
            tables=tables,
            alpha=float(alpha),
            beta=float(beta),
            min_support=int(support),
            group_count=int(groups),
        )
    return chains, extra
