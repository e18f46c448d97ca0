def append_score_to_prompts(prompts, aes=None, flow=None, camera_motion=None):
    return [p if aes is None else f"{p} aesthetic score: {aes:.1f}." for p in prompts]
