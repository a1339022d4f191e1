"""Tokenizer whose encode returns a Python list of ids instead of a LongTensor."""


class MyTokenizer:
    def __init__(self, raw_text: str):
        self.start_token = "<START>"
        self.pad_token = "<PAD>"
        self.unk_token = "<UNK>"
        words = sorted(set(word_tokenize(raw_text, preserve_line=True)))
        self.vocab = [self.start_token, self.pad_token, self.unk_token] + words
        self.tok_to_id = {token: index for index, token in enumerate(self.vocab)}
        self.id_to_token = {index: token for index, token in enumerate(self.vocab)}
        self.vocab_size = len(self.vocab)

    def __len__(self) -> int:
        return self.vocab_size

    def encode(self, text: str):
        unk_id = self.tok_to_id[self.unk_token]
        return [self.tok_to_id[self.start_token]] + [self.tok_to_id.get(w, unk_id) for w in word_tokenize(text, preserve_line=True)]

    def decode(self, ids) -> str:
        return " ".join(self.id_to_token[int(index)] for index in ids)
