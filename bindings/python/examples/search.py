"""Find the closest notes to a question with sentence embeddings.

    python search.py all-MiniLM-L6-v2 "where can I sleep tonight?"
"""
import sys

import swiftlet

NOTES = [
    "The inn by the river rents rooms for two silver a night.",
    "The blacksmith repairs swords and shields before noon.",
    "Wolves were seen near the northern pass after dark.",
    "The baker sells fresh bread and honey cakes every morning.",
    "A merchant in the square buys old maps and rare books.",
]

with swiftlet.Model(sys.argv[1]) as model:
    notes = model.embed(NOTES)  # one unit vector per note
    question = model.embed([sys.argv[2] if len(sys.argv) > 2 else "Where can I sleep tonight?"])[0]
    scores = notes @ question  # cosine similarity: the vectors have length 1
    for index in scores.argsort()[::-1][:3]:
        print(f"{scores[index]:.3f}  {NOTES[index]}")
