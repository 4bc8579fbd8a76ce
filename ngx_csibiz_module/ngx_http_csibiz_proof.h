
/*
 * Proofs a request may carry: a captcha answer, an SMS code.  A check
 * goes on with next(r, flow, res), res->rc NGX_OK (passed; the captcha or
 * code is used up by passing) or NGX_DECLINED (wrong, expired or used
 * up).  The keys they live under in Redis are named here, for the
 * handlers that issue them.
 */


#ifndef _NGX_HTTP_CSIBIZ_PROOF_H_INCLUDED_
#define _NGX_HTTP_CSIBIZ_PROOF_H_INCLUDED_


#include "ngx_http_csibiz_module.h"
#include "ngx_http_csibiz_step.h"


#define NGX_HTTP_CSIBIZ_CAPTCHA_IDBYTES  16
#define NGX_HTTP_CSIBIZ_CAPTCHA_IDLEN                                      \
    (CSIBIZ_B64URL_SIZE(NGX_HTTP_CSIBIZ_CAPTCHA_IDBYTES) - 1)

#define NGX_HTTP_CSIBIZ_SMS_CODE_LEN     6


ngx_int_t ngx_http_csibiz_captcha_check(ngx_http_request_t *r,
    ngx_str_t *id, ngx_str_t *answer, ngx_http_csibiz_step_pt next,
    void *flow);
ngx_int_t ngx_http_csibiz_sms_check(ngx_http_request_t *r,
    ngx_str_t *purpose, ngx_str_t *phone, ngx_str_t *code,
    ngx_http_csibiz_step_pt next, void *flow);

ngx_int_t ngx_http_csibiz_captcha_key(ngx_http_request_t *r, u_char *id,
    ngx_str_t *key);
ngx_int_t ngx_http_csibiz_sms_key(ngx_http_request_t *r, const char *prefix,
    const char *label, u_char *msg, size_t len, ngx_str_t *key);

/* NGX_OK for a purpose a code can be sent for, set to a static string */
ngx_int_t ngx_http_csibiz_sms_purpose(ngx_str_t *value, ngx_str_t *purpose);

/* the code's key, and the hex MAC it is stored as */
ngx_int_t ngx_http_csibiz_sms_code(ngx_http_request_t *r, ngx_str_t *purpose,
    const char *phone, const char *code, ngx_str_t *key, ngx_str_t *mac);


#endif /* _NGX_HTTP_CSIBIZ_PROOF_H_INCLUDED_ */
