"""The gateway's media endpoints: images and videos made by media workers as queue jobs.

    forms      multipart/form-data and JSON bodies → fields and files; image type sniffing
    params     validation of every parameter (400s naming it), ``video_config``
    sizes      OpenAI sizes and durations → the upstream's ratios, resolutions and lengths
"""
