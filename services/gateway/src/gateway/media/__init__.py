"""The gateway's media endpoints: images and videos made by media workers as queue jobs.

    service    MediaService (the job queue, the blob store, settings) and the 503 without them
    reading    request bodies within ``bodies`` limits, refused or abandoned sanely
    forms      multipart/form-data and JSON bodies → fields and files; image type sniffing
    params     validation of every parameter (400s naming it), ``video_config``
    sizes      OpenAI sizes and durations → the upstream's ratios, resolutions and lengths
    uploads    reference images checked and stored as blob store uploads
    relay      following a job: progress, result, error → ``JobFailed``; cancel on abandon
    render     results → OpenAI image objects, image stream events, chat content
    images     /v1/images/generations and /v1/images/edits, streaming or not
    chat       /v1/chat/completions for image, image-edit and video models
    videos     the asynchronous Videos API over job records

The routers (``routers/images.py``, ``routers/videos.py``, and ``routers/chat.py`` for
media models) only read, parse and hand over.
"""
