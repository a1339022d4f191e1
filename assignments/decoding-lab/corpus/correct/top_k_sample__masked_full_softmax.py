"""Sets every logit below the k-th largest to -inf and samples from the full softmax with
torch.distributions (a different use of the random stream)."""


def top_k_sample(logits, k):
    k = min(k, logits.numel())
    kth = torch.topk(logits, k).values[-1]
    masked = logits.masked_fill(logits < kth, float("-inf"))
    return int(torch.distributions.Categorical(logits=masked).sample())
