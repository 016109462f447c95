"""Diffusion: noise schedules, objectives (ε, x_0, v), samplers, classifier-free guidance and
editing (img2img, inpainting), shared by every diffusion model and pipeline in genlab."""

from genlab.diffusion.editing import img2img_timesteps, impose_known  # noqa: F401
from genlab.diffusion.guidance import check_guidance_scale, classifier_free_guidance  # noqa: F401
from genlab.diffusion.objectives import PREDICTION_TYPES, Objective, diffusion_loss  # noqa: F401
from genlab.diffusion.samplers import SAMPLERS, Sampler, make_sampler, sample  # noqa: F401
from genlab.diffusion.schedules import SCHEDULES, SPACINGS, NoiseSchedule  # noqa: F401
