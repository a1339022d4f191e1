"""Tokenizer whose encode skips words missing from the vocabulary instead of mapping them to <UNK>."""


class MyTokenizer(MyTokenizer):  # noqa: F821
    def encode(self, text: str) -> torch.Tensor:  # noqa: F821
        ids = [self.tok_to_id[self.start_token]]
        ids += [self.tok_to_id[word] for word in word_tokenize(text, preserve_line=True) if word in self.tok_to_id]  # noqa: F821
        return torch.tensor(ids, dtype=torch.long)  # noqa: F821
