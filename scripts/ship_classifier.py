"""Copy a trained classifier folder into frontwatch/shipped/classifier (only the files that ship).

Usage: python scripts/ship_classifier.py runs/classifier
"""

import shutil
import sys
from pathlib import Path

FILES = ("config.json", "adapter_config.json", "adapter_model.safetensors", "heads.safetensors",
         "training_config.yaml", "training_info.json", "README.md")


def main(src: str) -> None:
    src_dir = Path(src)
    dst = Path(__file__).parents[1] / "frontwatch" / "shipped" / "classifier"
    missing = [f for f in FILES if not (src_dir / f).is_file()]
    if missing:
        raise SystemExit(f"{src_dir} lacks {', '.join(missing)}: is it a finished training run?")
    shutil.rmtree(dst, ignore_errors=True)
    dst.mkdir(parents=True)
    for name in FILES:
        shutil.copy2(src_dir / name, dst / name)
    size = sum((dst / f).stat().st_size for f in FILES)
    print(f"shipped {src_dir} -> {dst} ({size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main(sys.argv[1])
