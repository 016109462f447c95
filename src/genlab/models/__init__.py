"""Model architectures, one per file (U-Net, DiT, and the other families), and the registry of
named sizes: `create_model(name_or_config_dict, **overrides)`.
"""

from genlab.models.registry import (
    create_model,
    list_architectures,
    list_models,
    model_config,
    register_architecture,
    register_models,
)

__all__ = [
    "create_model",
    "list_architectures",
    "list_models",
    "model_config",
    "register_architecture",
    "register_models",
]
