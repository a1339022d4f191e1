"""Correct: DialogueGPT with a (B, T, T) boolean mask from triu(diagonal=1) and positions expanded per batch row."""


class DialogueGPT(DialogueGPT):  # noqa: F821 - appended to the reference module
    def forward(self, input_ids: torch.Tensor):
        num_tokens = input_ids.shape[1]
        positions = torch.arange(num_tokens, device=input_ids.device)  # (T,)
        pos = positions.unsqueeze(0).expand(input_ids.shape[0], -1)  # (B, T)
        x = self.pos_embeddings(pos) + self.token_embeddings(input_ids)  # (B, T, dim)
        future = torch.triu(torch.ones(num_tokens, num_tokens, dtype=torch.bool, device=input_ids.device), diagonal=1)  # (T, T)
        causal_mask = (~future).unsqueeze(0).expand(input_ids.shape[0], -1, -1)  # (B, T, T)
        x, alphas = self.transformer(x, attn_mask=causal_mask, return_attn=True)
        logits = self.head(x)  # (B, T, vocab_size)
        return logits, alphas
