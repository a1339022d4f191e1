"""Tokenizer whose encode splits on whitespace instead of using NLTK's word tokenizer, so "yes," is one unknown word."""


class MyTokenizer(MyTokenizer):  # noqa: F821
    def encode(self, text: str) -> torch.Tensor:  # noqa: F821
        unk_id = self.tok_to_id[self.unk_token]
        ids = [self.tok_to_id[self.start_token]] + [self.tok_to_id.get(word, unk_id) for word in text.split()]
        return torch.tensor(ids, dtype=torch.long)  # noqa: F821
