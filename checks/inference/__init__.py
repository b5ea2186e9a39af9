"""The inference extension: CRDs, InferencePools and what they point at, InferenceModels/Objectives."""

AREA = "inference"
TITLE = "Inference extension"
