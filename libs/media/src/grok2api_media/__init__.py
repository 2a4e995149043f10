"""Media shared by the gateway (producer) and the media workers (consumers).

``jobs``   the job kinds, their payloads, progress and results (the queue's JSON schema)
``blobs``  the blob store: generated and uploaded media files under DATA_DIR
"""
