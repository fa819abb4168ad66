"""The texts start-up calibration times and compares precisions on: short queries and passages, as served."""

from __future__ import annotations

QUERIES = [
    "how do I rotate an API key",
    "what is a vector database",
    "symptoms of vitamin D deficiency",
    "best way to store embeddings for search",
    "why does my bread not rise",
    "python list comprehension example",
    "capital city of Australia",
    "how long do solar panels last",
]

PASSAGES = [
    "Qdrant is a vector database and similarity search engine. It stores points, each a vector with an optional "
    "payload, and answers nearest-neighbour queries with filters on the payload. Collections can hold dense and "
    "sparse vectors side by side, so one query can combine semantic similarity with keyword matching, and the "
    "results can then be reranked by a cross-encoder for the final order shown to the user.",
    "Vitamin D helps the body absorb calcium and phosphate. People who spend little time outdoors, or who live far "
    "from the equator, may not make enough in winter. Mild deficiency often has no symptoms; a longer or more "
    "severe shortage can cause bone pain, muscle weakness and, in children, rickets. A blood test measures the "
    "level, and supplements are a common and inexpensive treatment when it is low.",
    "Bread dough rises because yeast ferments sugars and releases carbon dioxide, which the gluten network traps. "
    "Dough that stays flat usually has old or killed yeast (water that was too hot), too little time in a warm "
    "place, or too much salt in direct contact with the yeast. Proofing the yeast in lukewarm water with a pinch "
    "of sugar first shows whether it is still alive: it should foam within ten minutes.",
    "An API key identifies a client to a service. Rotating it means issuing a new key, deploying it to every "
    "caller, and only then revoking the old one, so that no request fails in between. Services that accept "
    "several keys at once make this easy: add the new key to the list, move the clients over, remove the old "
    "key. Keys belong in a secret store or environment variables, never in source control.",
    "Canberra is the capital city of Australia. It was chosen as a compromise between Sydney and Melbourne, the "
    "two largest cities, and was purpose-built: construction began in 1913 after an international design "
    "competition won by the American architects Walter Burley Griffin and Marion Mahony Griffin. Parliament "
    "moved there from Melbourne in 1927, and the city is home to many national institutions.",
    "Solar panels typically come with a 25-year performance warranty and lose around half a percent of their "
    "output each year. Many panels keep producing useful power well beyond thirty years. The inverter, which "
    "converts direct current to alternating current, usually fails first and is replaced once or twice over "
    "the life of a system. Keeping the panels clean and unshaded preserves most of their output.",
    "List comprehensions build a new list from an iterable in one expression: [x * x for x in range(10) if x % 2] "
    "gives the squares of the odd numbers below ten. They read left to right like the loop they replace, are "
    "usually faster than appending in a loop, and have siblings for sets, dictionaries and generators. Deeply "
    "nested comprehensions hurt readability; a plain loop is clearer then.",
    "Embeddings turn text into vectors so that similar meanings land close together. A retrieval system embeds "
    "its documents once, in chunks of a few hundred tokens, stores the vectors in an index, and embeds each "
    "question at query time to find the nearest chunks. Normalised vectors let a dot product stand in for cosine "
    "similarity, and smaller dimensions trade a little accuracy for memory and speed.",
]
