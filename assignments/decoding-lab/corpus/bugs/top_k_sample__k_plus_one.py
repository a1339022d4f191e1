"""Keeps every token whose logit is at least the k-th largest's next one: k + 1 tokens."""


def top_k_sample(logits, k):
    ranked = torch.sort(logits, descending=True).values
    threshold = ranked[min(k, logits.numel() - 1)]
    masked = logits.masked_fill(logits < threshold, float("-inf"))
    return int(torch.multinomial(torch.softmax(masked, dim=-1), 1))
