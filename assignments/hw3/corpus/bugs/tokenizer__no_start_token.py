"""Tokenizer whose encode forgets to prepend the <START> id."""


class MyTokenizer(MyTokenizer):  # noqa: F821
    def encode(self, text: str) -> torch.Tensor:  # noqa: F821
        unk_id = self.tok_to_id[self.unk_token]
        ids = [self.tok_to_id.get(word, unk_id) for word in word_tokenize(text, preserve_line=True)]  # noqa: F821
        return torch.tensor(ids, dtype=torch.long)  # noqa: F821
