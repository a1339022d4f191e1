"""Correct: DialogueGPT that slices pos_embeddings.weight[:T] and builds a long (T, T) mask from an arange comparison."""


class DialogueGPT(DialogueGPT):  # noqa: F821 - appended to the reference module
    def forward(self, input_ids: torch.Tensor):
        b, t = input_ids.shape
        x = self.token_embeddings(input_ids) + self.pos_embeddings.weight[:t].unsqueeze(0)  # (B, T, dim)
        rows = torch.arange(t).unsqueeze(1)  # (T, 1)
        cols = torch.arange(t).unsqueeze(0)  # (1, T)
        mask = (cols <= rows).long()  # (T, T), 1 where j <= i
        x, alphas = self.transformer(x, mask, True)
        return self.head(x), alphas
