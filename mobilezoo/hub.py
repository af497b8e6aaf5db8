"""The Hugging Face Hub as timm users know it: ``push_to_hf_hub(model, "owner/name")``, ``save_for_hf_hub`` (the same
folder, written locally), and ``mobilezoo.create_model("hf-hub:owner/name", pretrained=True)`` to load one."""

from .weights.hf_hub import HubModel, fetch_hub_model, hub_config, push_to_hf_hub, save_for_hf_hub

__all__ = ["HubModel", "fetch_hub_model", "hub_config", "push_to_hf_hub", "save_for_hf_hub"]
