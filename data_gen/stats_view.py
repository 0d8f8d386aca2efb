"""`rmdm gen stats`: a dataset's manifest statistics as a text table, and histograms as a PNG."""

from __future__ import annotations

from pathlib import Path

BAR_WIDTH = 40


def _is_histogram(value) -> bool:
    return isinstance(value, dict) and all(isinstance(v, int) for v in value.values())


def stats_table(manifest: dict) -> str:
    """Plain text: what the set is, counts per split, scalar statistics, then histograms."""
    lines = [
        f"task        {manifest.get('task')}",
        f"generator   {manifest.get('generator')} v{manifest.get('generator_version')}",
        f"seed        {manifest.get('seed')}",
        f"verified    {manifest.get('verified')}",
    ]
    lines.append("")
    lines.append(f"{'split':<12}{'rows':>10}{'files':>7}")
    for name, split in manifest["splits"].items():
        lines.append(f"{name:<12}{split['count']:>10}{len(split['files']):>7}")
    counts = manifest.get("counts", {})
    if counts:
        lines.append("")
        lines.extend(f"{key:<20}{value:>10}" for key, value in counts.items())
    stats = manifest.get("stats", {})
    scalars = {k: v for k, v in stats.items() if not _is_histogram(v)}
    if scalars:
        lines.append("")
        lines.extend(f"{key:<20}{value!s:>10}" for key, value in scalars.items())
    for key, histogram in stats.items():
        if not _is_histogram(histogram) or not histogram:
            continue
        total = sum(histogram.values()) or 1
        peak = max(histogram.values()) or 1
        lines.append("")
        lines.append(f"{key.removesuffix('_histogram')}")
        for label, count in histogram.items():
            bar = "#" * max(1 if count else 0, round(BAR_WIDTH * count / peak))
            lines.append(f"  {label:>12} {count:>9} {100 * count / total:5.1f}%  {bar}")
    timing = manifest.get("timing", {})
    if timing.get("seconds") is not None:
        lines.append("")
        lines.append(f"built in {timing['seconds']:.1f} s" + (f" with {timing['workers']} worker{'s' if timing['workers'] != 1 else ''}" if "workers" in timing else ""))
    return "\n".join(lines)


def plot_histograms(manifest: dict, path: str | Path) -> Path:
    """One bar chart per histogram in the manifest's stats, saved as PNG (Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    histograms = {k: v for k, v in manifest.get("stats", {}).items() if _is_histogram(v) and v}
    count = max(1, len(histograms))
    fig, axes = plt.subplots(1, count, figsize=(4.5 * count, 3.6), squeeze=False)
    for ax, (key, histogram) in zip(axes[0], histograms.items()):
        labels = list(histogram)
        ax.bar(range(len(labels)), list(histogram.values()), color="#4C72B0")
        step = max(1, len(labels) // 12)
        ax.set_xticks(range(0, len(labels), step), labels[::step], rotation=45, ha="right", fontsize=8)
        ax.set_title(key.removesuffix("_histogram").replace("_", " "))
        ax.set_ylabel("records")
    if not histograms:
        axes[0][0].text(0.5, 0.5, "no histograms", ha="center", va="center")
    written = sum(s["count"] for s in manifest["splits"].values())
    fig.suptitle(f"{manifest.get('task')}: {written} records")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
