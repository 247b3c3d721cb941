package mail

import "mime"

type wordDecoder = mime.WordDecoder
