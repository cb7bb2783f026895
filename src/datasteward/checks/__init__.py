"""Quality checks: pure functions on arrays and tables, and the one explicit registry of their specs.

Every check is registered here by an explicit import; a duplicate name raises.
"""

from datasteward.checks import audio, duplicates, image, labels, text
from datasteward.checks.registry import OWNERS, CheckSpec, Registry

REGISTRY = Registry([*duplicates.SPECS, *image.SPECS, *audio.SPECS, *text.SPECS, *labels.SPECS])

OWNER_DUTIES = {
    "data_ops": "Pipelines and files: decoding, duplicates, leakage, signal quality and metadata.",
    "annotation": "Labels and transcripts delivered by the annotation team or vendor.",
    "ml": "Model-facing checks: where a model disagrees with the labels, and train/test leakage.",
    "product": "Coverage and acceptance: what each batch must contain for the product to work.",
}

__all__ = ["OWNERS", "OWNER_DUTIES", "REGISTRY", "CheckSpec", "Registry"]
