# pb_write_if_changed(<file> <content>): writes the file only when its
# content differs, so that an unchanged generated source rebuilds nothing.
# Included by the scripts that embed files into the binary (cmake -P).
function(pb_write_if_changed output content)
  if(EXISTS "${output}")
    file(READ "${output}" old)
    if(old STREQUAL content)
      return()
    endif()
  endif()
  file(WRITE "${output}" "${content}")
endfunction()
