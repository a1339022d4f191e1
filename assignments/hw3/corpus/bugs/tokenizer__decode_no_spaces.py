"""Tokenizer whose decode concatenates the tokens with no separator."""


class MyTokenizer(MyTokenizer):  # noqa: F821 - appended to the reference module
    def decode(self, ids) -> str:
        return "".join(self.id_to_token[int(index)] for index in ids)
