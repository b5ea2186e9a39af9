"""Model servers: vLLM decode/prefill pods, their GPUs, their logs."""

AREA = "model-servers"
TITLE = "Model servers"
