"""Tokenizer whose encode returns a Python list of ids instead of a LongTensor."""


class MyTokenizer(MyTokenizer):  # noqa: F821
    def encode(self, text: str):
        unk_id = self.tok_to_id[self.unk_token]
        return [self.tok_to_id[self.start_token]] + [self.tok_to_id.get(w, unk_id) for w in word_tokenize(text, preserve_line=True)]  # noqa: F821
