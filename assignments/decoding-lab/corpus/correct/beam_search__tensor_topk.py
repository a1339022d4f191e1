"""Scores kept in a tensor, all extensions ranked with one topk over (beams x V); completed
hypotheses collected in a list; the rule checked at the top of the next iteration."""


def beam_search(step_logprobs, bos, eos, beam_size, max_len):
    beams = [[bos]]
    scores = torch.zeros(1, dtype=torch.float64)
    done = []
    for _ in range(max_len):
        table = torch.stack([step_logprobs(b).double() for b in beams])  # (n, V)
        totals = (scores.unsqueeze(1) + table).reshape(-1)
        top = torch.topk(totals, min(beam_size, totals.numel()))
        vocab = table.shape[1]
        new_beams, new_scores = [], []
        for value, flat in zip(top.values.tolist(), top.indices.tolist()):
            tokens = beams[flat // vocab] + [flat % vocab]
            (done if tokens[-1] == eos else new_beams).append(tokens if tokens[-1] != eos else (tokens, value))
            if tokens[-1] != eos:
                new_scores.append(value)
        beams, scores = new_beams, torch.tensor(new_scores, dtype=torch.float64)
        best_done = max((s for _, s in done), default=None)
        if not beams or (best_done is not None and best_done >= float(scores.max())):
            break
    if done:
        best_score = max(s for _, s in done)
        return next((t, s) for t, s in done if s == best_score)
    return beams[int(scores.argmax())], float(scores.max())
