"""DialogueGPT that passes no attention mask, so every position sees the future tokens."""


class DialogueGPT(DialogueGPT):  # noqa: F821 - appended to the reference module
    def forward(self, input_ids: torch.Tensor):
        num_tokens = input_ids.shape[1]
        positions = torch.arange(num_tokens, device=input_ids.device)  # (T,)
        x = self.token_embeddings(input_ids) + self.pos_embeddings(positions)  # (B, T, dim)
        x, alphas = self.transformer(x, attn_mask=None, return_attn=True)
        logits = self.head(x)  # (B, T, vocab_size)
        return logits, alphas
