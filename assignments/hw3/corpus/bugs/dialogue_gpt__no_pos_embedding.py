"""DialogueGPT that never adds the positional embedding, so the model cannot tell word order apart."""


class DialogueGPT(DialogueGPT):  # noqa: F821 - appended to the reference module
    def forward(self, input_ids: torch.Tensor):
        num_tokens = input_ids.shape[1]
        x = self.token_embeddings(input_ids)  # (B, T, dim)
        causal_mask = torch.tril(torch.ones(num_tokens, num_tokens, device=input_ids.device))  # (T, T)
        x, alphas = self.transformer(x, attn_mask=causal_mask, return_attn=True)
        logits = self.head(x)  # (B, T, vocab_size)
        return logits, alphas
