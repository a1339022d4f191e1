"""Stops only when the best completed score is strictly above the best live one: a tie runs one
step too many (the answer is the same; the step count is not)."""


def beam_search(step_logprobs, bos, eos, beam_size, max_len):
    live, best = [([bos], 0.0)], None
    for _ in range(max_len):
        candidates = sorted(
            ((tokens + [t], score + lp) for tokens, score in live for t, lp in enumerate(step_logprobs(tokens).tolist())),
            key=lambda c: -c[1],
        )[:beam_size]
        live = [c for c in candidates if c[0][-1] != eos]
        for c in candidates:
            if c[0][-1] == eos and (best is None or c[1] > best[1]):
                best = c
        if not live or (best is not None and best[1] > live[0][1]):
            break
    return best if best is not None else live[0]
