"""Copy a trained model folder into frontwatch/shipped/<kind> (only the files that ship).

Usage: python scripts/ship_model.py classifier runs/classifier
       python scripts/ship_model.py summarizer runs/summarizer
"""

import shutil
import sys
from pathlib import Path

COMMON = ("adapter_config.json", "adapter_model.safetensors", "training_config.yaml", "training_info.json", "README.md")
FILES = {
    "classifier": ("config.json", "heads.safetensors", *COMMON),
    "summarizer": ("summarizer_config.json", "generation_config.json", "GEMMA_TERMS.html", *COMMON),
}


def main(kind: str, src: str) -> None:
    if kind not in FILES:
        raise SystemExit(f"kind '{kind}': use {' or '.join(FILES)}")
    src_dir = Path(src)
    dst = Path(__file__).parents[1] / "frontwatch" / "shipped" / kind
    missing = [f for f in FILES[kind] if not (src_dir / f).is_file()]
    if missing:
        raise SystemExit(f"{src_dir} lacks {', '.join(missing)}: is it a finished {kind} training run?")
    shutil.rmtree(dst, ignore_errors=True)
    dst.mkdir(parents=True)
    for name in FILES[kind]:
        shutil.copy2(src_dir / name, dst / name)
    size = sum((dst / f).stat().st_size for f in FILES[kind])
    print(f"shipped {src_dir} -> {dst} ({size / 1e6:.1f} MB)")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
