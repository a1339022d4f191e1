"""DialogueGPT that builds PyTorch's "future" mask triu(ones, diagonal=1) and passes it as is, where 1 means "may attend"."""


class DialogueGPT(DialogueGPT):  # noqa: F821 - appended to the reference module
    def forward(self, input_ids: torch.Tensor):
        num_tokens = input_ids.shape[1]
        positions = torch.arange(num_tokens, device=input_ids.device)  # (T,)
        x = self.token_embeddings(input_ids) + self.pos_embeddings(positions)  # (B, T, dim)
        future = torch.triu(torch.ones(num_tokens, num_tokens, device=input_ids.device), diagonal=1)  # (T, T)
        x, alphas = self.transformer(x, attn_mask=future, return_attn=True)
        logits = self.head(x)  # (B, T, vocab_size)
        return logits, alphas
